"""Product text → a sparse hashed TF-IDF vector, the same in training and in the function.

The vocabulary of a product (`product_buckets`, the readable definition, one row at a time):
word unigrams and bigrams of the name, character 2–5-grams inside each space-padded word of the
name and the brand (robust to plurals, typos, glued pack sizes such as `500ml` and brand
spellings), the brand whole and by word, and the words of the vendor's own category when the
file has one. Text is casefolded and every run of non-word characters is one space. Digits are
kept as written: `1 kg` and `5 kg` are different products to the price model.

`term_counts` computes the same buckets for a whole page of rows at once with NumPy: the page
is one byte string, every token is a substring of it, and a substring's polynomial hash comes
from two prefix sums (hash(i, j) = (S[j] − S[i]) · B^(j−1) mod 2^64 with S[k] = Σ b[t]·B^−t),
so no Python runs per token or per row. A per-row loop of CRC-32 calls cost most of the
serving time before (bench/bench_row_models.py).

Character n-grams hash into the upper half of the space, everything else into the lower half,
and each half is IDF-weighted and L2-normalized on its own before the two are joined with the
words weighted WORD_WEIGHT times the characters: normalized together, the ~100 character
n-grams of a name drown its ~10 words. The IDF weights travel with the model, stored sparsely
(`pack_idf`): only the buckets seen in training differ from the default weight.
"""

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from itertools import pairwise

import numpy as np
from scipy import sparse

N_FEATURES = 1 << 20  # few collisions at ~10^6 distinct n-grams
_HALF_BITS = 19
_CHARACTERS = N_FEATURES // 2  # first bucket of the character n-grams
WORD_WEIGHT = 1.5
CHARACTER_SIZES = (2, 3, 4, 5)
_NOT_WORD = re.compile(r"[^\w\n]+")  # \n separates the rows of a page, so it survives

_MASK = (1 << 64) - 1
_BASE = 0x100000001B3  # odd, so it has an inverse modulo 2^64
_BASE_INVERSE = pow(_BASE, -1, 1 << 64)
_PAIR = 0x9E3779B97F4A7C15

# the token kinds; each seeds its own hashes, so `tea` the word and `tea` the brand differ
WORD, PAIR, BRAND, BRAND_WORD, CATEGORY_WORD, CHARACTERS = 1, 2, 3, 4, 5, 6


# -- the definition, one product at a time -------------------------------------------------------


def normalize(text: str) -> str:
    """Casefolded words separated by single spaces."""
    return " ".join(_NOT_WORD.sub(" ", text.replace("\n", " ").casefold()).split())


def _polynomial(data: bytes) -> int:
    value = 0
    for byte in data:
        value = (value * _BASE + byte) & _MASK
    return value


def _mix(value: int) -> int:
    """splitmix64's finalizer: every input bit reaches every output bit."""
    value ^= value >> 30
    value = (value * 0xBF58476D1CE4E5B9) & _MASK
    value ^= value >> 27
    value = (value * 0x94D049BB133111EB) & _MASK
    return value ^ (value >> 31)


def _seeded(value: int, kind: int) -> int:
    return _mix(value ^ (kind * _PAIR & _MASK))


def _to_bucket(hashed: int, kind: int) -> int:
    return (hashed >> (64 - _HALF_BITS)) + (_CHARACTERS if kind == CHARACTERS else 0)


def product_buckets(name: str, brand: str = "", vendor_category: str = "") -> list[int]:
    """The hashed vocabulary of one product, token by token: the definition that `term_counts`
    computes for a page at once (tests/training/test_row_models_parity.py holds them equal)."""
    buckets = []
    words = normalize(name).split()
    hashes = [_polynomial(w.encode()) for w in words]
    buckets += [_to_bucket(_seeded(h, WORD), WORD) for h in hashes]
    buckets += [_to_bucket(_seeded((_mix(a) * _PAIR + b) & _MASK, PAIR), PAIR) for a, b in pairwise(hashes)]
    brand_words = normalize(brand).split()
    if brand_words:
        buckets.append(_to_bucket(_seeded(_polynomial(" ".join(brand_words).encode()), BRAND), BRAND))
        buckets += [_to_bucket(_seeded(_polynomial(w.encode()), BRAND_WORD), BRAND_WORD) for w in brand_words]
    for word in words + brand_words:
        padded = f" {word} ".encode()
        for n in CHARACTER_SIZES:
            buckets += [
                _to_bucket(_seeded(_polynomial(padded[i : i + n]), CHARACTERS), CHARACTERS)
                for i in range(len(padded) - n + 1)
            ]
    buckets += [
        _to_bucket(_seeded(_polynomial(w.encode()), CATEGORY_WORD), CATEGORY_WORD)
        for w in normalize(vendor_category).split()
    ]
    return buckets


def reference_term_counts(texts: Iterable[tuple[str, str, str]]) -> sparse.csr_matrix:
    """`term_counts` one product at a time, from `product_buckets`: slow and plain."""
    indptr, indices, values = [0], [], []
    for name, brand, category in texts:
        counts = Counter(product_buckets(name, brand, category))
        for bucket in sorted(counts):
            indices.append(bucket)
            values.append(counts[bucket])
        indptr.append(len(indices))
    return _sublinear(np.asarray(values, np.float64), np.asarray(indices, np.int32), np.asarray(indptr))


# -- the same, a page at a time ------------------------------------------------------------------


class _Powers:
    """B^k and B^−k modulo 2^64 for k below a length that grows with the longest page seen; the
    pair is replaced whole, so a thread reading it never sees one array longer than the other."""

    def __init__(self) -> None:
        self.pair = (np.ones(1, np.uint64), np.ones(1, np.uint64))

    def at_least(self, length: int) -> tuple[np.ndarray, np.ndarray]:
        pair = self.pair
        if length > len(pair[0]):
            size = max(length, 2 * len(pair[0]))
            up, down = np.full(size, _BASE, np.uint64), np.full(size, _BASE_INVERSE, np.uint64)
            up[0] = down[0] = 1
            pair = self.pair = (np.cumprod(up), np.cumprod(down))  # uint64 products wrap: mod 2^64
        return pair


_POWERS = _Powers()


def _mix_array(value: np.ndarray) -> np.ndarray:
    value = value ^ (value >> np.uint64(30))
    value = value * np.uint64(0xBF58476D1CE4E5B9)
    value = value ^ (value >> np.uint64(27))
    value = value * np.uint64(0x94D049BB133111EB)
    return value ^ (value >> np.uint64(31))


def _buckets_array(hashed: np.ndarray, kind: int) -> np.ndarray:
    seeded = _mix_array(hashed ^ np.uint64(kind * _PAIR & _MASK))
    buckets = (seeded >> np.uint64(64 - _HALF_BITS)).astype(np.int64)
    return buckets + _CHARACTERS if kind == CHARACTERS else buckets


class _Field:
    """One text field of every row of a page as one byte string ` w1 w2 \\n w3 \\n …`: each row
    padded by a space on both sides, rows apart by a newline; words are the runs of other bytes."""

    def __init__(self, texts: Sequence[str]) -> None:
        page = "\n".join(f" {text} " for text in texts)
        if page.count("\n") != len(texts) - 1:  # a newline inside a cell is a space like any other
            page = "\n".join(f" {text.replace(chr(10), ' ')} " for text in texts)
        page = _NOT_WORD.sub(" ", page.casefold())
        # the per-row padding may now sit beside a space from the text: one space everywhere
        page = re.sub(r" {2,}", " ", page)
        data = np.frombuffer(page.encode(), np.uint8)
        self.data = data
        newline = data == 10
        self.row = np.cumsum(newline)  # row of each byte
        word = (data != 32) & ~newline
        self.word = word
        length = len(data)
        self.up, down = _POWERS.at_least(length + 1)
        self.prefix = np.zeros(length + 1, np.uint64)
        np.cumsum(data.astype(np.uint64) * down[:length], out=self.prefix[1:])
        before = np.concatenate([[False], word[:-1]])
        after = np.concatenate([word[1:], [False]])
        self.starts = np.nonzero(word & ~before)[0]
        self.ends = np.nonzero(word & ~after)[0] + 1
        # a row with no word at all still gets its position in `row`
        self.rows = int(newline.sum()) + 1

    def hashes(self, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
        """Polynomial hashes of data[starts[i]:ends[i]], each nonempty."""
        return (self.prefix[ends] - self.prefix[starts]) * self.up[ends - 1]

    def words(self, kind: int) -> tuple[np.ndarray, np.ndarray]:
        return self.row[self.starts], _buckets_array(self.hashes(self.starts, self.ends), kind)

    def pairs(self) -> tuple[np.ndarray, np.ndarray]:
        hashes = self.hashes(self.starts, self.ends)
        rows = self.row[self.starts]
        same = rows[1:] == rows[:-1]
        combined = _mix_array(hashes[:-1][same]) * np.uint64(_PAIR) + hashes[1:][same]
        return rows[1:][same], _buckets_array(combined, PAIR)

    def whole_hashes(self) -> tuple[np.ndarray, np.ndarray]:
        """Each row's words from its first to its last, spaces included, hashed as one string;
        rows without a word are left out."""
        rows = self.row[self.starts]
        if not len(rows):
            return rows, np.empty(0, np.uint64)
        first = np.concatenate([[True], rows[1:] != rows[:-1]])
        last = np.concatenate([rows[1:] != rows[:-1], [True]])
        return rows[first], self.hashes(self.starts[first], self.ends[last])

    def whole(self, kind: int) -> tuple[np.ndarray, np.ndarray]:
        rows, hashes = self.whole_hashes()
        return rows, _buckets_array(hashes, kind)

    def characters(self) -> tuple[np.ndarray, np.ndarray]:
        """The n-grams of each space-padded word: substrings whose inner bytes are all word bytes
        and whose ends are word bytes or the pad spaces beside them."""
        data, word = self.data, self.word
        length = len(data)
        if not word.any():
            return np.empty(0, np.int64), np.empty(0, np.int64)
        # bytes from each position to the end of its word run (0 on a space or newline)
        position = np.arange(length)
        next_gap = np.concatenate([np.nonzero(~word)[0], [length]])
        run = next_gap[np.searchsorted(next_gap, position)] - position
        edge = data != 10  # a space or a word byte
        rows, buckets = [], []
        for n in CHARACTER_SIZES:
            starts = np.arange(length - n + 1)
            # n > 2: the inner bytes are all word bytes (a pad space only ever sits at an end);
            # n = 2: no inner bytes, so one end at least must be in the word
            keep = run[starts + 1] >= n - 2 if n > 2 else word[starts] | word[starts + 1]
            keep &= edge[starts] & edge[starts + n - 1]
            starts = starts[keep]
            rows.append(self.row[starts])
            buckets.append(_buckets_array(self.hashes(starts, starts + n), CHARACTERS))
        return np.concatenate(rows), np.concatenate(buckets)


def term_counts(texts: Sequence[tuple[str, str, str]] | Iterable[tuple[str, str, str]]) -> sparse.csr_matrix:
    """Rows of (name, brand, vendor_category) → sublinear term frequencies, CSR, every row's
    buckets sorted: `reference_term_counts`, for a whole page at once."""
    texts = list(texts)
    if not texts:
        return sparse.csr_matrix((0, N_FEATURES), dtype=np.float32)
    return _counts(*_fields(texts, 3))


def product_keys(texts: Sequence[tuple[str, ...]]) -> np.ndarray:
    """A 64-bit key per row for its product: normalized name and brand, as `product_key`
    computes one at a time. Twins (one product listed by two vendors) share it."""
    if not texts:
        return np.zeros(0, np.uint64)
    return _keys(*_fields(texts, 2))


def counts_and_keys(texts: Sequence[tuple[str, str, str]]) -> tuple[sparse.csr_matrix, np.ndarray]:
    """`term_counts` and `product_keys` of one page, each field read once: the text
    categorizer needs both, and reading a field is a third of hashing it."""
    if not texts:
        return term_counts(texts), product_keys(texts)
    names, brands, categories = _fields(texts, 3)
    return _counts(names, brands, categories), _keys(names, brands)


def _fields(texts: Sequence[tuple[str, ...]], count: int) -> list[_Field]:
    return [_Field([t[i] for t in texts]) for i in range(count)]


def _counts(names: _Field, brands: _Field, categories: _Field) -> sparse.csr_matrix:
    parts = [
        names.words(WORD),
        names.pairs(),
        brands.whole(BRAND),
        brands.words(BRAND_WORD),
        names.characters(),
        brands.characters(),
        categories.words(CATEGORY_WORD),
    ]
    rows = np.concatenate([p[0] for p in parts])
    buckets = np.concatenate([p[1] for p in parts])
    keys, counts = np.unique(rows * N_FEATURES + buckets, return_counts=True)
    row_of = keys // N_FEATURES
    indptr = np.searchsorted(row_of, np.arange(names.rows + 1))
    return _sublinear(counts.astype(np.float64), (keys % N_FEATURES).astype(np.int32), indptr)


def _keys(names: _Field, brands: _Field) -> np.ndarray:
    name_hashes, brand_hashes = np.zeros(names.rows, np.uint64), np.zeros(names.rows, np.uint64)
    rows, hashes = names.whole_hashes()
    name_hashes[rows] = hashes
    rows, hashes = brands.whole_hashes()
    brand_hashes[rows] = hashes
    return _mix_array(_mix_array(name_hashes) * np.uint64(_PAIR) + brand_hashes)


def product_key(name: str, brand: str = "") -> int:
    return _mix((_mix(_polynomial(normalize(name).encode())) * _PAIR + _polynomial(normalize(brand).encode())) & _MASK)


def _sublinear(counts: np.ndarray, indices: np.ndarray, indptr: np.ndarray) -> sparse.csr_matrix:
    sublinear = (1.0 + np.log(counts)).astype(np.float32)
    return sparse.csr_matrix((sublinear, indices, indptr), shape=(len(indptr) - 1, N_FEATURES))


# -- weights -------------------------------------------------------------------------------------


def fit_idf(counts: sparse.csr_matrix) -> np.ndarray:
    document_frequency = np.bincount(counts.indices, minlength=N_FEATURES)
    n = counts.shape[0]
    return (np.log((1 + n) / (1 + document_frequency)) + 1.0).astype(np.float32)


def tfidf(counts: sparse.csr_matrix, idf: np.ndarray) -> sparse.csr_matrix:
    """IDF-weighted; words and characters L2-normalized apart, joined, normalized again."""
    counts = counts.tocsr()
    rows = counts.shape[0]
    weighted = counts.data.astype(np.float64) * idf[counts.indices]
    block = (counts.indices >= _CHARACTERS).astype(np.int64)  # 0 words, 1 characters
    row = np.repeat(np.arange(rows), np.diff(counts.indptr))
    norms = np.sqrt(np.bincount(row * 2 + block, weighted**2, minlength=2 * rows))
    norms[norms == 0] = 1.0
    data = weighted * np.where(block == 1, 1.0, WORD_WEIGHT) / norms[row * 2 + block]
    total = np.sqrt(np.bincount(row, data**2, minlength=rows))
    total[total == 0] = 1.0
    data /= total[row]
    return sparse.csr_matrix((data.astype(np.float32), counts.indices, counts.indptr), shape=counts.shape)


def pack_idf(idf: np.ndarray) -> dict[str, np.ndarray]:
    """The npz arrays of `idf`: the default (unseen-bucket) weight and the buckets that differ."""
    default = idf.max()
    seen = np.nonzero(idf != default)[0].astype(np.int32)
    return {
        "idf_buckets": seen,
        "idf_values": idf[seen].astype(np.float32),
        "idf_default": np.asarray(default, np.float32),
    }


def unpack_idf(arrays: "np.lib.npyio.NpzFile | dict[str, np.ndarray]") -> np.ndarray:
    idf = np.full(N_FEATURES, float(arrays["idf_default"]), np.float32)
    idf[arrays["idf_buckets"]] = arrays["idf_values"]
    return idf


def word_part(counts: sparse.csr_matrix) -> sparse.csr_matrix:
    """`counts` without the character n-grams: what the name-neighbour searches compare."""
    counts = counts.tocsr()
    keep = counts.indices < _CHARACTERS
    row = np.repeat(np.arange(counts.shape[0]), np.diff(counts.indptr))[keep]
    indptr = np.searchsorted(row, np.arange(counts.shape[0] + 1))
    return sparse.csr_matrix((counts.data[keep], counts.indices[keep], indptr), shape=counts.shape)


def ranked_by_row(similarity: sparse.csr_matrix, first: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Each row's first `first` positive entries of a queries × products similarity as flat
    arrays (row, product, similarity, place within its row), ordered by row, then similarity
    (highest first), then product. The entries below a row's `first`-th largest are dropped
    before the sort (`_near_the_top`): the vote and the price model's neighbours read no
    further, and the sort of the ~10% left, keyed by product and by one float64 of row × 4 +
    (2 − similarity) (a float32 similarity and the row held exactly, under 53 bits), costs less
    than putting every entry in product order first did (docs/experiments.md)."""
    similarity = similarity.tocsr()
    row = np.repeat(np.arange(similarity.shape[0]), np.diff(similarity.indptr))
    positive = similarity.data > 0
    row, product, value = row[positive], similarity.indices[positive], similarity.data[positive]
    near = _near_the_top(row, value, similarity.shape[0], first)
    row, product, value = row[near], product[near], value[near]
    order = np.lexsort((product, row * 4.0 + (2.0 - value.astype(np.float64))))
    row, product, value = row[order], product[order], value[order]
    starts = np.concatenate([[0], np.cumsum(np.bincount(row, minlength=similarity.shape[0]))])
    rank = np.arange(len(row)) - starts[row]
    kept = rank < first
    return row[kept], product[kept], value[kept], rank[kept]


SIMILARITY_BUCKETS = 256


def _near_the_top(row: np.ndarray, value: np.ndarray, rows: int, first: int) -> np.ndarray:
    """Which entries are in their row's similarity bucket (of SIMILARITY_BUCKETS over 0–1) that
    holds its `first`-th largest, or above: every entry ranked under `first` and some after it,
    found by counting, not sorting. A page of 400 rows has ~130,000 entries and keeps ~10%, so
    the sort after it is ten times shorter. A similarity above 1 counts in the top bucket."""
    bucket = np.minimum((value * SIMILARITY_BUCKETS).astype(np.int64), SIMILARITY_BUCKETS)
    width = SIMILARITY_BUCKETS + 1
    counts = np.bincount(row * width + bucket, minlength=rows * width).reshape(rows, width)
    at_or_above = np.cumsum(counts[:, ::-1], axis=1)  # column j: entries in bucket ≥ SIMILARITY_BUCKETS − j
    enough = at_or_above >= first
    bound = np.where(enough.any(axis=1), SIMILARITY_BUCKETS - enough.argmax(axis=1), 0)
    return bucket >= bound[row]


def pack_sparse(name: str, matrix: sparse.spmatrix) -> dict[str, np.ndarray]:
    """The npz arrays of a mostly empty rows × columns matrix (hashed features × classes, or
    products × hashed features): the nonempty rows as gaps from the previous one, their entry
    counts, column numbers and float16 values. Gaps and small counts compress well, and an
    empty row costs nothing, where a CSR index pointer over 2^20 features costs 8 MB."""
    csr = sparse.csr_matrix(matrix)
    csr.sort_indices()
    counts = np.diff(csr.indptr)
    rows = np.nonzero(counts)[0]
    return {
        f"{name}_gaps": np.diff(rows, prepend=0).astype(np.int32),
        f"{name}_counts": counts[rows].astype(np.int32),
        f"{name}_columns": csr.indices.astype(np.uint16 if csr.shape[1] <= 1 << 16 else np.int32),
        f"{name}_values": csr.data.astype(np.float16),
        f"{name}_shape": np.array(csr.shape, np.int64),
    }


def unpack_sparse(arrays: "np.lib.npyio.NpzFile | dict[str, np.ndarray]", name: str) -> sparse.csr_matrix:
    shape = tuple(int(n) for n in arrays[f"{name}_shape"])
    counts = np.zeros(shape[0], np.int64)
    counts[np.cumsum(arrays[f"{name}_gaps"])] = arrays[f"{name}_counts"]
    indptr = np.concatenate([[0], np.cumsum(counts)])
    return sparse.csr_matrix(
        (
            arrays[f"{name}_values"].astype(np.float32),
            arrays[f"{name}_columns"].astype(np.int32),
            indptr,
        ),
        shape=shape,
    )
