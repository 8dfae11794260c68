"""GTIN (EAN-8, UPC-A, EAN-13, GTIN-14) check digits: a mistyped barcode is caught here."""

GTIN_LENGTHS = (8, 12, 13, 14)


def normalize_gtin(text: str) -> str:
    """Digits only; spreadsheets turn `0123...` into `123...` so UPC/EAN may lose zeros."""
    digits = "".join(c for c in text if c.isdigit())
    return digits


def is_valid_gtin(digits: str) -> bool:
    if len(digits) not in GTIN_LENGTHS or not digits.isdigit():
        return False
    body, check = digits[:-1], int(digits[-1])
    # weights 3,1,3,1... counted from the digit next to the check digit
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return (10 - total % 10) % 10 == check


def gtin_problem(text: str) -> str:
    """ "" when `text` is a valid GTIN, otherwise why not, for the row's notes."""
    digits = normalize_gtin(text)
    if len(digits) not in GTIN_LENGTHS:
        return f"GTIN '{text}' has {len(digits)} digits; a GTIN has 8, 12, 13 or 14"
    if not is_valid_gtin(digits):
        return f"GTIN '{text}' has a wrong check digit (mistyped?)"
    return ""
