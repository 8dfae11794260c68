"""Prices as people write them → an exact amount and an ISO 4217 currency.

`1 299,00 ₽`, `$15.00`, `15.00 USD`, `12,5`, `1.299,00 €`, `15,-`, `Rs. 120` all parse. A lone
comma followed by exactly three digits (`1,299`) is a thousands separator, as in English lists;
any other lone comma is a decimal comma. A lone dot is always a decimal point.
"""

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

_SYMBOLS = {
    "₽": "RUB",
    "руб": "RUB",
    "р": "RUB",
    "rub": "RUB",
    "rur": "RUB",
    "$": "USD",
    "us$": "USD",
    "usd": "USD",
    "€": "EUR",
    "eur": "EUR",
    "euro": "EUR",
    "euros": "EUR",
    "£": "GBP",
    "gbp": "GBP",
    "₴": "UAH",
    "грн": "UAH",
    "uah": "UAH",
    "₹": "INR",
    "rs": "INR",
    "inr": "INR",
    "₨": "INR",
    "zł": "PLN",
    "zl": "PLN",
    "pln": "PLN",
    "chf": "CHF",
    "fr": "CHF",
    "¥": "JPY",
    "₸": "KZT",
    "тг": "KZT",
    "₺": "TRY",
    "kč": "CZK",
}
# ISO 4217 codes vendors actually use; a bare three-letter word such as "TTC" is not one
_ISO_CODES = frozenset(
    [
        "AED",
        "ARS",
        "AUD",
        "BGN",
        "BRL",
        "BYN",
        "CAD",
        "CHF",
        "CLP",
        "CNY",
        "COP",
        "CZK",
        "DKK",
        "EGP",
        "EUR",
        "GBP",
        "GEL",
        "HKD",
        "HUF",
        "IDR",
        "ILS",
        "INR",
        "JPY",
        "KRW",
        "KZT",
        "MDL",
        "MXN",
        "MYR",
        "NOK",
        "NZD",
        "PHP",
        "PKR",
        "PLN",
        "RON",
        "RSD",
        "RUB",
        "SAR",
        "SEK",
        "SGD",
        "THB",
        "TRY",
        "UAH",
        "USD",
        "UZS",
        "VND",
        "ZAR",
    ]
)
_NUMBER = re.compile(r"[+-]?\d[\d\s'’.,]*|[+-]?[.,]\d+")
_DASH_CENTS = re.compile(r",[-–](?!\d)")  # German "15,-" means 15.00
_GROUP_SPACES = re.compile(r"(?<=\d)[\s'’](?=\d{3}(?!\d))")
# No shelf price reaches a trillion in any currency: such a number is a code or garbage (a JSON
# feed's 5,000-digit "price" became infinity once Firestore and the price model took it as a float).
MAX_AMOUNT = Decimal(10) ** 12


@dataclass(frozen=True)
class Price:
    amount: Decimal
    currency: str  # "" when the cell names none


class PriceError(ValueError):
    """The text is not a price; the message says what was found."""


def currency_code(text: str) -> str:
    """`руб.` → `RUB`, `€` → `EUR`, `usd` → `USD`; "" when the text names no currency we know."""
    token = text.strip().strip(".").lower()
    if token in _SYMBOLS:
        return _SYMBOLS[token]
    upper = token.upper()
    return upper if upper in _ISO_CODES else ""


def parse_price(text: str, default_currency: str = "") -> Price:
    raw = text.replace("\u00a0", " ").replace("\u202f", " ").strip()
    if not raw:
        raise PriceError("the price is empty")
    raw = _DASH_CENTS.sub("", raw)
    match = _NUMBER.search(raw)
    if match is None:
        raise PriceError(f"'{_short(text)}' has no number in it")
    rest = (raw[: match.start()] + " " + raw[match.end() :]).strip()
    currency = _currency_in(rest) if rest else ""
    if rest and not currency:
        raise PriceError(f"'{_short(text)}' is not a price: cannot read '{_short(rest)}'")
    amount = _amount(match.group(0).strip(), text)
    if amount < 0:
        raise PriceError(f"the price {_short(text)} is negative")
    if amount >= MAX_AMOUNT:
        raise PriceError(f"the price {_short(text)} is not plausible: it is {MAX_AMOUNT:,.0f} or more")
    return Price(amount=amount, currency=currency or default_currency)


def _currency_in(rest: str) -> str:
    for token in re.split(r"[\s/]+", rest):
        token = token.strip(".()[]")
        if token and currency_code(token):
            return currency_code(token)
        # "$15" leaves "$"; "Rs.120" leaves "Rs."; "US$" and "€" handled by the table
    return currency_code(rest.replace(" ", ""))


def _amount(number: str, original: str) -> Decimal:
    number = _GROUP_SPACES.sub("", number).replace(" ", "")
    number = number.replace("'", "").replace("’", "")
    dots, commas = number.count("."), number.count(",")
    if dots and commas:
        decimal_mark = "." if number.rfind(".") > number.rfind(",") else ","
        group_mark = "," if decimal_mark == "." else "."
        number = number.replace(group_mark, "").replace(decimal_mark, ".")
    elif commas > 1:
        number = number.replace(",", "")
    elif commas == 1:
        whole, frac = number.split(",")
        is_grouping = len(frac) == 3 and whole.lstrip("+-") not in ("", "0")
        number = whole + frac if is_grouping else whole + "." + frac
    elif dots > 1:
        number = number.replace(".", "")
    try:
        return Decimal(number)
    except InvalidOperation:
        raise PriceError(f"'{_short(original)}' is not a number we can read") from None


def _short(text: str) -> str:
    return text if len(text) <= 40 else text[:37] + "..."
