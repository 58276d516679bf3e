"""The registry tests again on PostgreSQL (tsvector index instead of FTS5); skipped without Postgres."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from storage.db import Database
from tests.skills.test_registry import *
from tests.storage.conftest import pg_url  # noqa: F401 - the throwaway cluster fixture


@pytest.fixture(scope="module")
def pg_skills(pg_url: str) -> Iterator[Database]:  # noqa: F811
    import psycopg

    admin = make_url(pg_url).set(drivername="postgresql").render_as_string(False)
    name = f"k2hub_skills_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    database = Database(make_url(pg_url).set(database=name).render_as_string(False))
    yield database
    database.close()
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


@pytest.fixture
def db(pg_skills: Database) -> Iterator[Database]:
    """The module's Postgres database, emptied of skills after each test."""
    yield pg_skills
    with pg_skills.engine.begin() as conn:
        conn.execute(text("TRUNCATE skills_fts, skill_files, skill_versions, skills CASCADE"))
