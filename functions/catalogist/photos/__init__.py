"""The photo path: bytes decoded once (bounded in memory), classified, and combined with the
product's other photos into one image decision."""
