"""The PDF reader server: ingest, page text, outline, page search and page images of long PDFs."""
