"""Product text → a sparse hashed TF-IDF vector, the same in training and in the function.

Word unigrams and bigrams of the name, character 2–5-grams inside each word of the name and
the brand (robust to plurals, typos, glued pack sizes such as `500ml` and brand spellings),
the brand as one token, and the words of the vendor's own category when the file has one.
Character n-grams hash into the upper half of the space, everything else into the lower half,
and each half is IDF-weighted and L2-normalized on its own before the two are joined with the
words weighted WORD_WEIGHT times the characters: normalized together, the ~100 character
n-grams of a name drown its ~10 words. Digits are kept as written: `1 kg` and `5 kg` are
different products to the price model. Hashing (CRC-32, stable across processes and Python
versions) means no vocabulary file; the IDF weights travel with the model, stored sparsely
(`pack_idf`): only the buckets seen in training differ from the default weight.
"""

import re
import zlib
from collections import Counter
from collections.abc import Iterable
from functools import lru_cache
from itertools import pairwise

import numpy as np
from scipy import sparse

N_FEATURES = 1 << 20  # few collisions at ~10^6 distinct n-grams
_CHARACTERS = N_FEATURES // 2  # first bucket of the character n-grams
WORD_WEIGHT = 1.5
_WORD = re.compile(r"\w+", re.UNICODE)


def _bucket(token: str) -> int:
    bucket = zlib.crc32(token.encode("utf-8")) & (_CHARACTERS - 1)
    return bucket + _CHARACTERS if token.startswith("c:") else bucket


@lru_cache(maxsize=20_000)
def _character_buckets(word: str) -> tuple[int, ...]:
    """The buckets of a word's character n-grams; catalogue names share most of their words."""
    padded = f" {word} "
    return tuple(_bucket(f"c:{padded[i : i + n]}") for n in range(2, 6) for i in range(len(padded) - n + 1))


def product_buckets(name: str, brand: str = "", vendor_category: str = "") -> list[int]:
    """The hashed vocabulary of one product: words (`w:`), word pairs (`b:`), each word's
    character 2–5-grams (`c:`, cached per word), the brand whole (`brand:`) and by word (`bw:`),
    and the vendor's category words (`vc:`); the prefixes keep name, brand and category apart."""
    words = _WORD.findall(name.casefold())
    buckets = [_bucket(f"w:{w}") for w in words]
    buckets += [_bucket(f"b:{a} {b}") for a, b in pairwise(words)]
    for word in words:
        buckets += _character_buckets(word)
    brand_key = " ".join(_WORD.findall(brand.casefold()))
    if brand_key:
        buckets.append(_bucket(f"brand:{brand_key}"))
        buckets += [_bucket(f"bw:{w}") for w in brand_key.split()]
    buckets += [_bucket(f"vc:{w}") for w in _WORD.findall(vendor_category.casefold())]
    return buckets


def term_counts(texts: Iterable[tuple[str, str, str]]) -> sparse.csr_matrix:
    """Rows of (name, brand, vendor_category) → sublinear term frequencies, CSR."""
    indptr: list[int] = [0]
    indices: list[int] = []
    values: list[int] = []  # occurrences, made sublinear below
    for name, brand, category in texts:
        counts = Counter(product_buckets(name, brand, category))
        indices.extend(counts)
        values.extend(counts.values())
        indptr.append(len(indices))
    sublinear = 1.0 + np.log(np.asarray(values, np.float64))
    return sparse.csr_matrix(
        (sublinear.astype(np.float32), np.asarray(indices, np.int32), np.asarray(indptr)),
        shape=(len(indptr) - 1, N_FEATURES),
    )


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
