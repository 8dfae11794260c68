"""Pack sizes written in names or columns → grams, millilitres or pieces.

`500 g`, `1 kg`, `1,5 l`, `2 x 200 ml`, `200ml x 2`, `12 pcs`, `Pack of 3`, `6 шт`, `3er Pack`.
Weights and volumes win over piece counts: `Pack of 3 - 100 g` is 3 × 100 g.
"""

import re
from dataclasses import dataclass

# unit spelling → (base unit, factor to base)
_UNITS = {
    "mg": ("g", 0.001),
    "g": ("g", 1.0),
    "gm": ("g", 1.0),
    "gms": ("g", 1.0),
    "gr": ("g", 1.0),
    "grs": ("g", 1.0),
    "gram": ("g", 1.0),
    "grams": ("g", 1.0),
    "gramm": ("g", 1.0),
    "gramme": ("g", 1.0),
    "grammes": ("g", 1.0),
    "gramos": ("g", 1.0),
    "kg": ("g", 1000.0),
    "kgs": ("g", 1000.0),
    "kilo": ("g", 1000.0),
    "kilogram": ("g", 1000.0),
    "oz": ("g", 28.3495),
    "lb": ("g", 453.592),
    "lbs": ("g", 453.592),
    "г": ("g", 1.0),
    "гр": ("g", 1.0),
    "грамм": ("g", 1.0),
    "грам": ("g", 1.0),
    "кг": ("g", 1000.0),
    "мг": ("g", 0.001),
    "ml": ("ml", 1.0),
    "millilitre": ("ml", 1.0),
    "milliliter": ("ml", 1.0),
    "cl": ("ml", 10.0),
    "dl": ("ml", 100.0),
    "l": ("ml", 1000.0),
    "lt": ("ml", 1000.0),
    "ltr": ("ml", 1000.0),
    "litre": ("ml", 1000.0),
    "liter": ("ml", 1000.0),
    "litres": ("ml", 1000.0),
    "liters": ("ml", 1000.0),
    "litro": ("ml", 1000.0),
    "litros": ("ml", 1000.0),
    "мл": ("ml", 1.0),
    "л": ("ml", 1000.0),
    "pc": ("pcs", 1.0),
    "pcs": ("pcs", 1.0),
    "piece": ("pcs", 1.0),
    "pieces": ("pcs", 1.0),
    "pack": ("pcs", 1.0),
    "packs": ("pcs", 1.0),
    "nos": ("pcs", 1.0),
    "units": ("pcs", 1.0),
    "stk": ("pcs", 1.0),
    "stück": ("pcs", 1.0),
    "st": ("pcs", 1.0),
    "pièces": ("pcs", 1.0),
    "unidades": ("pcs", 1.0),
    "uds": ("pcs", 1.0),
    "шт": ("pcs", 1.0),
    "штук": ("pcs", 1.0),
    "штуки": ("pcs", 1.0),
}
_UNIT_ALT = "|".join(sorted((re.escape(u) for u in _UNITS), key=len, reverse=True))
_NUM = r"\d+(?:[.,]\d+)?"
_MEASURE = re.compile(rf"(?<![\w.,])({_NUM})\s*({_UNIT_ALT})(?![\w])", re.IGNORECASE)
_MULTI_BEFORE = re.compile(rf"(?<![\w.,])(\d+)\s*[x×*]\s*({_NUM})\s*({_UNIT_ALT})(?!\w)", re.I)
_MULTI_AFTER = re.compile(rf"(?<![\w.,])({_NUM})\s*({_UNIT_ALT})\s*[x×*]\s*(\d+)(?![\w.,])", re.I)
_PACK_OF = re.compile(
    r"(?:pack|set|box|case|combo)\s+of\s+(\d+)|(\d+)\s*(?:er|-?pack|-?pk)\b|(\d+)\s*(?:er)\s*pack",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class PackSize:
    count: int  # items in the pack
    quantity: float  # total in `unit`
    unit: str  # "g", "ml" or "pcs"


def parse_pack_size(text: str, unit_hint: str = "") -> PackSize | None:
    """The pack size named in `text`, or None. `unit_hint` is a separate unit column's value."""
    text = text.replace("\u00a0", " ")
    if unit_hint and re.fullmatch(rf"\s*{_NUM}\s*", text):
        text = f"{text.strip()} {unit_hint.strip()}"
    for pattern, order in ((_MULTI_BEFORE, (1, 2, 3)), (_MULTI_AFTER, (3, 1, 2))):
        match = pattern.search(text)
        if match:
            count = int(match.group(order[0]))
            size = _to_base(match.group(order[1]), match.group(order[2]))
            if size and count > 0:
                return PackSize(count, round(size[0] * count, 3), size[1])
    count = _pack_count(text)
    for match in _MEASURE.finditer(text):
        size = _to_base(match.group(1), match.group(2))
        if size is None:
            continue
        if size[1] == "pcs":
            return PackSize(int(size[0]) or 1, size[0], "pcs")
        return PackSize(count, round(size[0] * count, 3), size[1])
    if count > 1:
        return PackSize(count, float(count), "pcs")
    return None


def _pack_count(text: str) -> int:
    match = _PACK_OF.search(text)
    if not match:
        return 1
    return int(next(g for g in match.groups() if g))


def _to_base(number: str, unit: str) -> tuple[float, str] | None:
    base = _UNITS.get(unit.lower())
    if base is None:
        return None
    return float(number.replace(",", ".")) * base[1], base[0]
