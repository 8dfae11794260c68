"""Vendor price lists in any of our formats → normalized product rows, streamed.

Pure: bytes in, frozen values out; no cloud client. Start at `parse_vendor_file`. Public: the
names below, and the modules `formats` (what an upload is), `mapping`, `packsize` and `prices`.
"""

from catalogist.vendorfiles.limits import DEFAULT_LIMITS, Limits
from catalogist.vendorfiles.mapping import ColumnMapping, guess_mapping
from catalogist.vendorfiles.parse import ParsedFile, ParseStats, parse_vendor_file
from catalogist.vendorfiles.rows import ProductRow, RowProblem, RowResult
from catalogist.vendorfiles.textcells import escape_for_export

__all__ = [
    "DEFAULT_LIMITS",
    "ColumnMapping",
    "Limits",
    "ParseStats",
    "ParsedFile",
    "ProductRow",
    "RowProblem",
    "RowResult",
    "escape_for_export",
    "formats",
    "guess_mapping",
    "mapping",
    "packsize",
    "parse_vendor_file",
    "prices",
]
