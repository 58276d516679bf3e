"""storage.migrations: versions recorded, data kept, failures rolled back, concurrent starts apply once."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Connection, UniqueConstraint, create_engine, inspect, text

from storage import repo
from storage.db import Database, make_engine
from storage.migrations import MIGRATIONS, Migration, SchemaTooNew, current_version, migrate, migration
from storage.schema import TABLES
from tests.storage.conftest import run_in_threads


def m002_add_pinned(conn: Connection) -> None:
    conn.execute(text("ALTER TABLE conversations ADD COLUMN pinned BOOLEAN NOT NULL DEFAULT FALSE"))


EXTRA = [*MIGRATIONS, Migration(len(MIGRATIONS) + 1, "add_pinned", m002_add_pinned)]


def _versions(db: Database) -> list[tuple[int, str]]:
    with db.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text("SELECT version, name FROM schema_version ORDER BY version"))]


def test_fresh_database_is_migrated_once(db: Database) -> None:
    assert _versions(db) == [(m.version, m.name) for m in MIGRATIONS]
    assert current_version(db.engine) == len(MIGRATIONS)
    assert migrate(db.engine) == []  # the second run is a no-op
    assert len(_versions(db)) == len(MIGRATIONS)


def test_migrated_schema_matches_the_models(db: Database) -> None:
    """Migrations are frozen DDL; this catches a model changed without a migration (or the reverse)."""
    found = inspect(db.engine)
    for model in TABLES:
        table = model.__table__  # type: ignore[attr-defined]
        name = table.name
        cols = {c["name"]: c for c in found.get_columns(name)}
        assert set(cols) == set(table.columns.keys()), name
        for column in table.columns:
            assert cols[column.name]["nullable"] == column.nullable, f"{name}.{column.name} nullable"
        assert found.get_pk_constraint(name)["constrained_columns"] == [c.name for c in table.primary_key]
        fks = {(tuple(f["constrained_columns"]), f["referred_table"], (f["options"].get("ondelete") or "").upper())
               for f in found.get_foreign_keys(name)}  # fmt: skip
        want = {((fk.parent.name,), fk.column.table.name, (fk.ondelete or "").upper()) for fk in table.foreign_keys}
        assert fks == want, name
        uniques = {tuple(u["column_names"]) for u in found.get_unique_constraints(name)}
        declared = [u for u in table.constraints if isinstance(u, UniqueConstraint)]
        assert uniques == {tuple(c.name for c in u.columns) for u in declared}, name
        # Expression indexes (Postgres full-text GIN, migration 2) are raw dialect DDL with no model counterpart.
        indexes = {tuple(i["column_names"]) for i in found.get_indexes(name)
                   if not i.get("unique") and None not in i["column_names"]}  # fmt: skip
        assert indexes == {tuple(c.name for c in i.columns) for i in table.indexes}, name


def test_extra_migration_keeps_data_and_records_version(db: Database) -> None:
    conv = repo.create_conversation(db, "before")
    repo.append_messages(db, conv.id, None, [{"role": "user", "content": "kept"}])
    assert migrate(db.engine, EXTRA) == [len(EXTRA)]
    assert _versions(db)[-1] == (len(EXTRA), "add_pinned")
    with db.engine.connect() as conn:
        row = conn.execute(text("SELECT title, pinned FROM conversations")).one()
    assert tuple(row) == ("before", False)
    assert repo.messages_as_openai(db, conv.id) == [{"role": "user", "content": "kept"}]
    assert migrate(db.engine, EXTRA) == []


def test_failed_migration_rolls_back_its_ddl(db: Database) -> None:
    def m002_half_done(conn: Connection) -> None:
        conn.execute(text("CREATE TABLE half (x INTEGER)"))
        raise RuntimeError("second statement failed")

    with pytest.raises(RuntimeError):
        migrate(db.engine, [*MIGRATIONS, Migration(len(MIGRATIONS) + 1, "half_done", m002_half_done)])
    assert "half" not in inspect(db.engine).get_table_names()
    assert current_version(db.engine) == len(MIGRATIONS)


def test_newer_schema_refused(db: Database) -> None:
    migrate(db.engine, EXTRA)
    with pytest.raises(SchemaTooNew, match="upgrade"):
        migrate(db.engine)


def concurrent_migrations_apply_once(url: str, engines: int) -> None:
    """`engines` engines migrate one fresh database at the same moment: each migration is applied exactly once."""
    applied: list[int] = []

    def m002_count(conn: Connection) -> None:
        # CREATE TABLE fails if a second engine re-applies the migration.
        conn.execute(text("CREATE TABLE counted (x INTEGER)"))
        applied.append(1)

    steps = [*MIGRATIONS, Migration(len(MIGRATIONS) + 1, "count", m002_count)]
    opened = [make_engine(url) for _ in range(engines)]
    try:
        results = run_in_threads(lambda engine: migrate(engine, steps), opened)
        assert not [r for r in results if isinstance(r, BaseException)], results
        assert sorted(v for r in results for v in r) == [m.version for m in steps]  # type: ignore[union-attr]
        assert applied == [1]
    finally:
        for e in opened:
            e.dispose()


def test_concurrent_migrations_apply_once(tmp_path: Path) -> None:
    concurrent_migrations_apply_once(f"sqlite:///{tmp_path / 'race.db'}", engines=4)


def test_migrate_needs_a_transactional_sqlite_engine(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="make_engine"):
        migrate(create_engine(f"sqlite:///{tmp_path / 'plain.db'}"))


def test_migration_names_are_numbered() -> None:
    with pytest.raises(ValueError, match="mNNN"):
        migration(lambda conn: None)

    def m001_again(conn: Connection) -> None: ...

    with pytest.raises(ValueError, match="taken"):
        migration(m001_again)
    assert [m.version for m in MIGRATIONS] == list(range(1, len(MIGRATIONS) + 1))
