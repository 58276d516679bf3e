"""The KPI analysis server: a verified ledger of reported values, derived metrics and exports."""
