"""The vendor-file path: a file's rows categorized and priced page by page and written as
products, with an import report. Public: `pipeline` (import_file, ImportContext, FilePipeline,
FileSource); `rows`, `pages` and `progress` are its parts."""

__all__ = ["pipeline"]
