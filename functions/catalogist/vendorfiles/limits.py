"""How much of a vendor file we are willing to hold in memory at once.

Every reader streams; these numbers bound the pieces it may buffer, so a hostile or broken file
costs at most a few of them, never the whole file.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Limits:
    max_line_bytes: int = 1_000_000  # one CSV line or JSON Lines record
    max_cell_chars: int = 100_000  # one cell after decoding
    max_columns: int = 2_000  # header or row width
    max_item_bytes: int = 1_000_000  # one JSON item or XML item/offer
    max_xml_categories: int = 100_000  # YML <categories> kept to name each offer's category
    max_xlsx_uncompressed_bytes: int = 400_000_000  # sum over the zip members
    max_xlsx_member_ratio: int = 200  # uncompressed / compressed for any member over 1 MB
    # openpyxl holds every shared string, about 150 bytes each besides the text
    max_xlsx_shared_strings: int = 1_000_000
    header_search_rows: int = 30  # a title block above the header is common in Excel lists
    sniff_bytes: int = 65_536  # sample for encoding, delimiter and format detection
    chunk_bytes: int = 65_536  # read size; memory per reader is a small multiple of it


DEFAULT_LIMITS = Limits()
