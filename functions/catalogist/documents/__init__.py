"""The Firestore documents, one module per collection, each the one owner of its document's
shape: `products`, `imports`, `reviews` and `batches` (decisions on many cards at once),
`vendors`, `leases` (who has a card open in the panel), `rescores` (re-scoring reports), and the
values they are made of (`values`). Writers build typed values and call `to_fields`; readers call
`from_fields`. (The upload ledger, `uploads/`, is owned by `catalogist.intake.ledger`, with the
claims that guard it.)"""

__all__ = ["batches", "imports", "leases", "products", "rescores", "reviews", "values", "vendors"]
