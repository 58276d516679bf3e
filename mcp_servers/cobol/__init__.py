"""The COBOL server: deterministic project analysis (no model), record layouts, the Go runtime, verification."""
