"""Product text → a sparse hashed TF-IDF vector, the same in training and in the function.

Word unigrams and bigrams of the name, character 2–5-grams inside each word (robust to plurals,
typos and glued pack sizes such as `500ml`), the brand as one token, and the words of the
vendor's own category when the file has one. Hashing (CRC-32, stable across processes and
Python versions) means no vocabulary file; the IDF weights travel with the model.
"""

import re
import zlib
from collections import Counter
from collections.abc import Iterable
from itertools import pairwise

import numpy as np
from scipy import sparse

N_FEATURES = 1 << 20  # few collisions at ~10^6 distinct n-grams
_WORD = re.compile(r"\w+", re.UNICODE)
_DIGITS = re.compile(r"\d+")


def product_tokens(name: str, brand: str = "", vendor_category: str = "") -> list[str]:
    """The hashed vocabulary of one product; prefixes keep name, brand and category apart."""
    words = [_DIGITS.sub("0", w) for w in _WORD.findall(name.casefold())]
    tokens = [f"w:{w}" for w in words]
    tokens += [f"b:{a} {b}" for a, b in pairwise(words)]
    for word in words:
        padded = f" {word} "
        for n in range(2, 6):
            tokens += [f"c:{padded[i:i + n]}" for i in range(len(padded) - n + 1)]
    brand_key = " ".join(_WORD.findall(brand.casefold()))
    if brand_key:
        tokens.append(f"brand:{brand_key}")
        tokens += [f"bw:{w}" for w in brand_key.split()]
    tokens += [f"vc:{w}" for w in _WORD.findall(vendor_category.casefold())]
    return tokens


def _bucket(token: str) -> int:
    return zlib.crc32(token.encode("utf-8")) & (N_FEATURES - 1)


def term_counts(texts: Iterable[tuple[str, str, str]]) -> sparse.csr_matrix:
    """Rows of (name, brand, vendor_category) → sublinear term frequencies, CSR."""
    indptr, indices, values = [0], [], []
    for name, brand, category in texts:
        counts = Counter(_bucket(t) for t in product_tokens(name, brand, category))
        indices.extend(counts)
        values.extend(1.0 + np.log(list(counts.values()), dtype=np.float64))
        indptr.append(len(indices))
    return sparse.csr_matrix(
        (np.asarray(values, np.float32), np.asarray(indices, np.int32), np.asarray(indptr)),
        shape=(len(indptr) - 1, N_FEATURES),
    )


def fit_idf(counts: sparse.csr_matrix) -> np.ndarray:
    document_frequency = np.bincount(counts.indices, minlength=N_FEATURES)
    n = counts.shape[0]
    return (np.log((1 + n) / (1 + document_frequency)) + 1.0).astype(np.float32)


def tfidf(counts: sparse.csr_matrix, idf: np.ndarray) -> sparse.csr_matrix:
    """Scaled by IDF and L2-normalized per row, like scikit-learn's TfidfVectorizer."""
    weighted = counts.multiply(idf[np.newaxis, :]).tocsr()
    norms = np.sqrt(np.asarray(weighted.multiply(weighted).sum(axis=1)).ravel())
    norms[norms == 0] = 1.0
    return sparse.diags(1.0 / norms).dot(weighted).tocsr().astype(np.float32)
