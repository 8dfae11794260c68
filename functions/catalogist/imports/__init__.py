"""The vendor-file path: a file's rows categorized and priced page by page and written as
products, with an import report."""
