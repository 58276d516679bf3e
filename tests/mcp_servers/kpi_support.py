"""Real FinanceBench reports ingested once per test module into a database of their own (the PDF reader's ingest)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from mcp_servers.pdf_reader.ingest import ingest_pdf
from storage import documents, repo
from storage.db import Database
from tests.helpers import skip_missing

PDFS = Path(__file__).resolve().parents[2] / "../shared/data/financebench/pdfs"
REPORTS = ("AMAZON_2019_10K", "AMAZON_2017_10K", "3M_2018_10K")


@dataclass
class Library:
    """An ingested set of reports: the database, its home, and document ids by report name."""

    db: Database
    home: Path
    ids: dict[str, str]

    def conversation(self) -> str:
        """A new conversation with every report attached."""
        conv = repo.create_conversation(self.db, "kpi test")
        for doc_id in self.ids.values():
            documents.attach(self.db, conv.id, doc_id)
        return conv.id


def ingest_reports(tmp_path_factory: pytest.TempPathFactory, names: tuple[str, ...] = REPORTS) -> Library:
    """Ingest the reports (skip when the FinanceBench data is absent)."""
    missing = [n for n in names if not (PDFS / f"{n}.pdf").is_file()]
    if missing:
        skip_missing(f"FinanceBench PDFs not found in {PDFS.resolve()}: {', '.join(missing)}")
    home = tmp_path_factory.mktemp("kpi-home")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("K2HUB_HOME", str(home))
        db = Database(f"sqlite:///{home / 'k2hub.db'}")
        ids = {n: ingest_pdf(db, PDFS / f"{n}.pdf").document.id for n in names}
    return Library(db, home, ids)
