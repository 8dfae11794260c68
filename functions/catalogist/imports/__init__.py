"""The vendor-file path: a file's rows categorized and priced page by page and written as
products, with an import report. Public: `pipeline` (import_file, Import, ImportContext,
FilePipeline, FileSource), `rows` (what a row means for its product, and how the row models score
rows: re-scoring reuses it) and `jobs` (big files handed to a batch job); `pages` and `progress`
are the pipeline's parts."""

__all__ = ["jobs", "pipeline", "rows"]
