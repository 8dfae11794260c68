"""The photo path: a photo classified and combined with the product's other photos into one
image decision, with a rough price. Public: `pipeline` (PhotoPipeline)."""

__all__ = ["pipeline"]
