"""Every reader on generated and mutated files (issue 16): whatever the bytes, reading yields
product rows and row problems, or refuses the file with `BadFile`; it never raises anything else,
and reading to the end terminates with at most a result per line or item of the file.

Valid files are written from random rows in each format (and several encodings), then mutated
byte by byte: cut short, bytes inserted, bits flipped, chunks repeated, spans deleted, re-encoded.
Workbooks are also mutated inside: one of their XML parts, then zipped again.
"""

import csv
import io
import json
import re
import string
import zipfile
from xml.sax.saxutils import escape

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook

from catalogist.errors import BadFile
from catalogist.vendorfiles import ProductRow, RowProblem, parse_vendor_file
from tests.unit.hostile_mutations import mutated

PROPERTY = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
TEXT_FORMATS = ("csv", "tsv", "json", "jsonl", "xml")
ENCODINGS = ("utf-8", "utf-8-sig", "utf-16", "cp1251", "latin-1")
COLUMNS = ("sku", "name", "price", "brand")

# Cells with everything a vendor (or an attacker) puts in them: quotes, separators, line breaks,
# markup, formulas, Cyrillic, emoji, control characters.
cell_text = st.text(
    alphabet=st.one_of(
        st.sampled_from(list(string.ascii_letters + string.digits + " ,;\t|\"'\n\r<>&=+-@.{}[]:\\")),
        st.sampled_from(list("ÄöüßéМолокоКефир€₽№—…\u00a0\u202e\ufeff\U0001f34c")),
        st.characters(codec="utf-8", exclude_categories=["Cs"]),
    ),
    max_size=30,
)
price_text = st.one_of(
    st.sampled_from(["1.99", "2,50", "1 299,00 ₽", "$15.00", "15,-", "12.5 EUR", "", "abc", "-3", "1e9999"]),
    st.decimals(allow_nan=False, allow_infinity=False, places=2).map(str),
    cell_text,
)
row = st.fixed_dictionaries({"sku": cell_text, "name": cell_text, "price": price_text, "brand": cell_text})
rows = st.lists(row, min_size=1, max_size=12)
# Rows every reader must give back whole: plain SKUs and names, nothing to normalize away.
plain_row = st.fixed_dictionaries(
    {
        "sku": st.text(alphabet=string.ascii_uppercase + string.digits, min_size=1, max_size=12),
        "name": st.text(alphabet=string.ascii_lowercase + " ", min_size=1, max_size=20).filter(str.strip),
        "price": st.sampled_from(["1.99", "2,50", "300", ""]),
        "brand": st.text(alphabet=string.ascii_letters, max_size=10),
    }
)
plain_rows = st.lists(plain_row, min_size=1, max_size=12, unique_by=lambda r: r["sku"])


def written(file_format: str, items: list[dict[str, str]], encoding: str = "utf-8", holder: bool = False) -> bytes:
    """`items` as a vendor file of `file_format`; text formats in `encoding` (unencodable characters
    become '?', as a vendor's export would)."""
    table = [list(COLUMNS)] + [[item[column] for column in COLUMNS] for item in items]
    if file_format == "xlsx":
        return workbook(table)
    if file_format in ("csv", "tsv"):
        out = io.StringIO()
        csv.writer(out, delimiter="\t" if file_format == "tsv" else ",").writerows(table)
        text = out.getvalue()
    elif file_format == "json":
        text = json.dumps({"meta": {"page": 1}, "products": items} if holder else items, ensure_ascii=False)
    elif file_format == "jsonl":
        text = "\n".join(json.dumps(item, ensure_ascii=False) for item in items) + "\n"
    else:
        fields = (
            "<item>" + "".join(f"<{k}>{escape(xml_safe(v))}</{k}>" for k, v in item.items()) + "</item>"
            for item in items
        )
        text = "<rss><channel><title>Acme</title>" + "".join(fields) + "</channel></rss>"
    return text.encode(encoding, errors="replace")


def xml_safe(text: str) -> str:
    """XML 1.0 cannot carry most control characters even escaped; a feed writer drops them."""
    return "".join(c for c in text if c in "\t\n\r" or (ord(c) >= 32 and c not in "\ufffe\uffff"))


def workbook(table: list[list[str]]) -> bytes:
    book = Workbook(write_only=True)
    sheet = book.create_sheet("Prices")
    for cells in table:
        sheet.append([xml_safe(c) for c in cells])
    buffer = io.BytesIO()
    book.save(buffer)
    with zipfile.ZipFile(buffer) as archive:
        parts = {info.filename: archive.read(info) for info in archive.infolist()}
    # openpyxl stamps the time of saving; Hypothesis needs the same rows to give the same bytes
    parts["docProps/core.xml"] = re.sub(
        rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", b"2024-01-01T00:00:00Z", parts["docProps/core.xml"]
    )
    return zipped(parts)


def zipped(parts: dict[str, bytes]) -> bytes:
    """The parts zipped again, with a fixed time on every member."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in parts.items():
            archive.writestr(zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0)), content, zipfile.ZIP_DEFLATED)
    return out.getvalue()


def read_all(data: bytes, name: str) -> list[ProductRow | RowProblem]:
    """The property every reader keeps: results or BadFile, nothing else, and an end."""
    try:
        parsed = parse_vendor_file(io.BytesIO(data), name)
    except BadFile as refused:
        assert refused.reason
        return []
    results = []
    for result in parsed.rows:
        assert isinstance(result, ProductRow | RowProblem), result
        results.append(result)
        assert len(results) <= len(data) + 1  # a result per line or item at most: never endless
    return results


@settings(PROPERTY, max_examples=60)
@given(plain_rows, st.sampled_from(TEXT_FORMATS), st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "cp1251"]))
def test_valid_files_give_back_every_row(items: list[dict[str, str]], file_format: str, encoding: str) -> None:
    found = read_all(written(file_format, items, encoding), f"acme/prices.{file_format}")

    assert [r.sku for r in found if isinstance(r, ProductRow)] == [item["sku"] for item in items]


@settings(PROPERTY, max_examples=25)
@given(plain_rows)
def test_valid_workbooks_give_back_every_row(items: list[dict[str, str]]) -> None:
    found = read_all(written("xlsx", items), "acme/prices.xlsx")

    assert [r.sku for r in found if isinstance(r, ProductRow)] == [item["sku"] for item in items]


@settings(PROPERTY, max_examples=200)
@given(rows, st.sampled_from(TEXT_FORMATS), st.sampled_from(ENCODINGS), st.booleans(), st.data())
def test_mutated_text_files_give_rows_problems_or_a_reason(
    items: list[dict[str, str]], file_format: str, encoding: str, holder: bool, data: st.DataObject
) -> None:
    original = written(file_format, items, encoding, holder)

    read_all(data.draw(mutated(original)), f"acme/prices.{file_format}")


@settings(PROPERTY, max_examples=100)
@given(rows, st.sampled_from(TEXT_FORMATS), st.sampled_from(ENCODINGS), st.sampled_from(ENCODINGS))
def test_files_read_in_another_encoding_than_written(
    items: list[dict[str, str]], file_format: str, written_in: str, declared: str
) -> None:
    """Re-encoded: the text of one encoding decoded as another, then written back."""
    text = written(file_format, items, written_in).decode(written_in, errors="replace")

    read_all(text.encode(declared, errors="replace"), f"acme/prices.{file_format}")


@settings(PROPERTY, max_examples=60)
@given(rows, st.data())
def test_mutated_workbooks_give_rows_problems_or_a_reason(items: list[dict[str, str]], data: st.DataObject) -> None:
    original = written("xlsx", items)
    with zipfile.ZipFile(io.BytesIO(original)) as archive:
        parts = {info.filename: archive.read(info) for info in archive.infolist()}
    victim = data.draw(st.sampled_from(sorted(parts)))
    parts[victim] = data.draw(mutated(parts[victim]))

    read_all(zipped(parts), "acme/prices.xlsx")
    read_all(data.draw(mutated(original)), "acme/prices.xlsx")


@settings(PROPERTY, max_examples=200)
@given(st.binary(max_size=3_000), st.sampled_from([*TEXT_FORMATS, "xlsx", "txt", "bin"]))
def test_random_bytes_under_any_name(data: bytes, extension: str) -> None:
    read_all(data, f"acme/prices.{extension}")
