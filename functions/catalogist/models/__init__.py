"""Model serving: the release kinds (`kinds`) and their loader (`releases`), the category tree
and its one decision rule (`taxonomy`), the photo classifier (`classifier`), the text categorizer
(`textcat`) and the price model (`price_model`), with the feature code training shares
(`text_features`, `price_features`, `neighbours`) and the precision bounds (`bounds`). No
training library is imported here."""

__all__ = [
    "bounds",
    "classifier",
    "kinds",
    "neighbours",
    "price_features",
    "price_model",
    "releases",
    "store_map",
    "taxonomy",
    "text_features",
    "textcat",
]
