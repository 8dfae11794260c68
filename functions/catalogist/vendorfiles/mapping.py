"""Which vendor column feeds which of our fields: guessed from headers, saved per vendor.

A `ColumnMapping` is a plain value (JSON in and out) so the caller can store the one used for a
vendor's file and pass it back as `known_mapping` for the vendor's next file. A known mapping is
reused only when every column it names is still in the file; otherwise we guess again.
"""

import json
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields

from catalogist.vendorfiles.prices import currency_code
from catalogist.vendorfiles.synonyms import SYNONYMS

FIELDS = tuple(SYNONYMS)
_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])")
_NOT_WORD = re.compile(r"[^\w]+|_")


@dataclass(frozen=True)
class ColumnMapping:
    """Our field → the vendor's column name ("" when the file has none)."""

    sku: str = ""
    name: str = ""
    brand: str = ""
    price: str = ""
    currency: str = ""
    vendor_category: str = ""
    description: str = ""
    image_link: str = ""
    gtin: str = ""
    pack_size: str = ""
    unit: str = ""
    default_currency: str = ""  # from a header such as "Preis (EUR)" or "Цена, руб."

    def columns(self) -> dict[str, str]:
        return {f: getattr(self, f) for f in FIELDS if getattr(self, f)}

    def fits(self, headers: Sequence[str]) -> bool:
        present = set(headers)
        return bool(self.columns()) and all(c in present for c in self.columns().values())

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> "ColumnMapping":
        values = json.loads(text)
        known = {f.name for f in fields(cls)}
        return cls(**{k: str(v) for k, v in values.items() if k in known})


def header_key(header: str) -> str:
    """`Prix_TTC` → `prix ttc`; `vendorCode` → `vendor code`; `Währung` → `wahrung`."""
    text = _plain(_CAMEL.sub(" ", header).casefold())
    return " ".join(_NOT_WORD.sub(" ", text).split())


def guess_mapping(headers: Sequence[str]) -> ColumnMapping:
    """Best one-to-one assignment of columns to fields, strongest matches first."""
    candidates: list[tuple[float, str, str]] = []
    for header in headers:
        key = header_key(header)
        if not key:
            continue
        for field_name, best in _field_scores(key).items():
            candidates.append((best, field_name, header))
    chosen: dict[str, str] = {}
    used: set[str] = set()
    for _, field_name, header in sorted(candidates, key=lambda c: -c[0]):
        if field_name not in chosen and header not in used:
            chosen[field_name] = header
            used.add(header)
    default_currency = _currency_in_header(chosen.get("price", ""))
    return ColumnMapping(**chosen, default_currency=default_currency)


def _field_scores(key: str) -> dict[str, float]:
    """Each field some synonym matches in this header key: its best score, less 0.01 per rank of
    the synonym that gave it. Only synonyms sharing a word with the key are scored: every rule
    of `_score` needs all of a synonym's words in the key, and the header search scores every
    cell of its first 30 lines (product names, prices), which share a word with next to none of
    the 255 synonyms; scoring them all was most of a small file's parse."""
    best: dict[str, float] = {}
    words = set(key.split())
    for field_name, rank, name in {entry for word in words for entry in _SYNONYMS_BY_WORD.get(word, ())}:
        score = _score(key, name) - rank * 0.01
        if score > best.get(field_name, 0.0):
            best[field_name] = score
    # in the fields' own order, as they were before: equal scores are settled by it, not by hashing
    return {field_name: best[field_name] for field_name in FIELDS if field_name in best}


_SYNONYM_KEYS: dict[str, str] = {}


def match_strength(headers: Sequence[str]) -> int:
    """How many of our fields these cells would fill if they were the header row."""
    values = [h for h in headers if h and len(h) < 100]
    mapping = guess_mapping(values)
    strength = len(mapping.columns())
    return strength if (mapping.name or mapping.sku) else 0


def _score(key: str, name: str) -> float:
    if key == name:
        return 100.0
    key_words, name_words = key.split(), name.split()
    n = len(name_words)
    if key_words[-n:] == name_words:
        return 80.0
    if key_words[:n] == name_words:
        return 60.0
    if any(key_words[i : i + n] == name_words for i in range(len(key_words) - n + 1)):
        return 40.0
    return 0.0


def _plain(text: str) -> str:
    """Latin accents off (`désignation` = `designation`), Cyrillic left whole (`й`, `ї`)."""
    decomposed = unicodedata.normalize("NFKD", text)
    kept: list[str] = []
    for char in decomposed:
        if unicodedata.combining(char) and kept and kept[-1].isascii():
            continue
        kept.append(char)
    return unicodedata.normalize("NFC", "".join(kept)).replace("ё", "е")


def _currency_in_header(header: str) -> str:
    for token in re.split(r"[\s,()\[\]/]+", header):
        code = currency_code(token)
        if code and token.strip(".").lower() not in ("р", "fr"):  # too short to trust here
            return code
        if token.strip(".").lower() == "руб":
            return "RUB"
    return ""


def _synonyms_by_word() -> dict[str, set[tuple[str, int, str]]]:
    """Each word of a synonym's key -> (field, rank among the field's synonyms, that key)."""
    index: dict[str, set[tuple[str, int, str]]] = {}
    for field_name, names in SYNONYMS.items():
        for rank, name in enumerate(names):
            for word in _SYNONYM_KEYS[name].split():
                index.setdefault(word, set()).add((field_name, rank, _SYNONYM_KEYS[name]))
    return index


_SYNONYM_KEYS.update({n: header_key(n) for names in SYNONYMS.values() for n in names})
_SYNONYMS_BY_WORD = _synonyms_by_word()  # read only once built: shared by threads as it is
