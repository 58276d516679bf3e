"""Eight first starts at once on one empty PostgreSQL database leave exactly one copy of each built-in skill.

Each start is what Agent.open does first: open the database (migrating it) and install the built-ins; threads
released together by a barrier make the installs race as processes starting at the same moment do. Skipped
without PostgreSQL.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from sqlalchemy import text

from skills.registry import BUILTIN_DIR, Registry
from storage.db import Database
from tests.pg_cluster import new_database
from tests.storage.conftest import pg_url, run_in_threads  # noqa: F401 - the throwaway cluster fixture

STARTS = 8


@pytest.fixture
def empty_pg(pg_url: str) -> Iterator[str]:  # noqa: F811 - the imported fixture
    with new_database(pg_url) as url:
        yield url


def test_eight_concurrent_first_starts_leave_one_copy_of_each_builtin(empty_pg: str):
    opened: list[Database] = []
    ready = threading.Barrier(STARTS)

    def first_start(_: int) -> None:
        database = Database(empty_pg)
        opened.append(database)
        ready.wait()  # every start has its schema: now they all install the built-ins at the same moment
        Registry(database).ensure_builtin(strict=True)

    try:
        results = run_in_threads(first_start, range(STARTS))
        errors = [r for r in results if isinstance(r, BaseException)]
        assert not errors, errors
        with opened[0].engine.connect() as conn:
            names = list(conn.execute(text("SELECT name FROM skills ORDER BY name")).scalars())
            versions = list(conn.execute(text("SELECT name FROM skill_versions ORDER BY name")).scalars())
            indexed = conn.execute(text("SELECT count(*) FROM skills_fts")).scalar()
    finally:
        for database in opened:
            database.close()
    builtin = sorted(p.name for p in BUILTIN_DIR.iterdir() if (p / "SKILL.md").is_file())
    assert names == builtin and versions == builtin and indexed == len(builtin)
