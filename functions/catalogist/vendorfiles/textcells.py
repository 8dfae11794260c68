"""Cell text cleanup, and the one escape every exported vendor string needs.

Vendor text is data. A cell such as `=HYPERLINK(...)` or `@SUM(...)` is kept verbatim as text
(we never evaluate it); `escape_for_export` makes sure a spreadsheet opening our own CSV export
will not evaluate it either.
"""

import re
import unicodedata

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_SPACES = re.compile(r"\s+")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def clean_text(value: str) -> str:
    """NFC, no control characters, single spaces, no leading or trailing whitespace."""
    value = unicodedata.normalize("NFC", value)
    value = _CONTROL.sub("", value)
    return _SPACES.sub(" ", value).strip()


def unshout(value: str) -> str:
    """`FRESH BANANA ROBUSTA` → `Fresh Banana Robusta`; mixed-case text is left alone.

    Tokens with digits (`500ML`, `X5`) keep their case: they are codes, not words.
    """
    letters = [c for c in value if c.isalpha()]
    if len(letters) < 6 or any(c.islower() for c in letters):
        return value
    return " ".join(w if any(c.isdigit() for c in w) else w.capitalize() for w in value.split(" "))


def looks_like_formula(value: str) -> bool:
    return value.startswith(_FORMULA_START)


def escape_for_export(value: str) -> str:
    """Prefix a formula-like value with `'` so Excel, LibreOffice and Sheets show it as text.

    OWASP's advice for CSV injection; apply to every vendor-supplied string written to a CSV or
    spreadsheet we produce. Plain numbers are untouched so exported prices stay numeric.
    """
    if not value or not looks_like_formula(value):
        return value
    if re.fullmatch(r"[+-]?\d+(?:[.,]\d+)?", value):
        return value
    return "'" + value
