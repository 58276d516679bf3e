"""Names of the built-in servers' tools that agents code calls or offers by name, in one place.

Tool names are `server__tool` (agents/hub/hub.py); a test lists every built-in server's tools and checks that each
name here exists, so a renamed tool breaks a test instead of a feature.
"""

from __future__ import annotations

PDF_LIST_DOCUMENTS = "pdf_reader__list_documents"
PDF_OUTLINE = "pdf_reader__outline"
PDF_READ_PAGES = "pdf_reader__read_pages"
PDF_SEARCH = "pdf_reader__search"
PDF_INGEST = "pdf_reader__ingest"

KPI_RECORD = "analysis__record_kpi"
KPI_LEDGER = "analysis__get_ledger"
KPI_PLAN = "analysis__plan_metrics"
KPI_DERIVE = "analysis__derive"
KPI_COMPARE = "analysis__compare"
KPI_REPORT = "analysis__report"

SKILL_LOAD = "skills_hub__load_skill"
SKILL_SEARCH = "skills_hub__search_skills"

COBOL_ANALYZE = "cobol__analyze_project"
COBOL_VERIFY = "cobol__verify"
SANDBOX_GO = "sandbox__go"

ALL = (PDF_LIST_DOCUMENTS, PDF_OUTLINE, PDF_READ_PAGES, PDF_SEARCH, PDF_INGEST, KPI_RECORD, KPI_LEDGER, KPI_PLAN,
       KPI_DERIVE, KPI_COMPARE, KPI_REPORT, SKILL_LOAD, SKILL_SEARCH, COBOL_ANALYZE, COBOL_VERIFY, SANDBOX_GO)
