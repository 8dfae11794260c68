"""The Firestore documents, one module per collection, each the one owner of its document's
shape: `products`, and the values they are made of (`values`). Writers build typed values and
call `to_fields`; readers call `from_fields`."""

from catalogist.documents import products, values

__all__ = ["products", "values"]
