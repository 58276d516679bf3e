"""Deterministic COBOL project analysis (no model): sources, copybooks, data layouts, procedure graphs, JCL."""
