"""storage.db and storage.paths: SQLite settings, transactions, and writers in several threads and processes."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from storage import repo
from storage.db import Database, normalize_url
from storage.migrations import MIGRATIONS
from storage.models import Conversation, Message
from storage.paths import data_home, default_database_url
from tests.storage.conftest import run_in_threads

ROOT = Path(__file__).resolve().parents[2]


def test_sqlite_pragmas_on_every_connection(db: Database) -> None:
    with db.engine.connect() as a, db.engine.connect() as b:
        for conn in (a, b):
            pragma = lambda name: conn.exec_driver_sql(f"PRAGMA {name}").scalar()  # noqa: E731
            assert pragma("journal_mode") == "wal"
            assert pragma("busy_timeout") == 5000
            assert pragma("foreign_keys") == 1
            assert pragma("synchronous") == 1  # NORMAL
    assert db.dialect == "sqlite"


def test_wal_file_appears_next_to_the_database(db: Database, tmp_path: Path) -> None:
    repo.create_conversation(db)
    assert (tmp_path / "k2hub.db").exists() and (tmp_path / "k2hub.db-wal").exists()


def test_foreign_keys_enforced(db: Database) -> None:
    with pytest.raises(IntegrityError):
        with db.session() as s:
            s.add(Message(conversation_id="missing", seq=0, role="user", content="hi"))


def test_session_commits_or_rolls_back(db: Database) -> None:
    with pytest.raises(RuntimeError):
        with db.session() as s:
            s.add(Conversation(id="gone", title="t"))
            s.flush()
            raise RuntimeError("boom")
    with db.session() as s:
        s.add(Conversation(id="kept", title="t"))
    with db.session(write=False) as s:
        assert s.get(Conversation, "gone") is None
        assert s.get(Conversation, "kept") is not None


def test_reader_not_blocked_by_a_writer(db: Database) -> None:
    repo.create_conversation(db, "visible")
    with db.session() as writer:
        writer.add(Conversation(title="uncommitted"))
        writer.flush()  # holds the write lock now
        start = time.monotonic()
        titles = [c.title for c in repo.list_conversations(db)]
        assert titles == ["visible"] and time.monotonic() - start < 1


def test_data_home_and_default_url(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    home = tmp_path / "nested" / "home"
    monkeypatch.setenv("K2HUB_HOME", str(home))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    assert data_home() == home and stat.S_IMODE(home.stat().st_mode) == 0o700
    assert default_database_url() == f"sqlite:///{home / 'k2hub.db'}"
    db = Database()
    try:
        assert (home / "k2hub.db").exists() and db.url == default_database_url()
    finally:
        db.close()
    monkeypatch.setenv("DATABASE_URL", "postgresql://u:p@db.example/k2")
    assert default_database_url() == "postgresql://u:p@db.example/k2"


def test_urls_normalised_to_psycopg3() -> None:
    assert normalize_url("postgresql://u:p@h/d").drivername == "postgresql+psycopg"
    assert normalize_url("postgres://u@h:5433/d").drivername == "postgresql+psycopg"
    assert normalize_url("postgresql+psycopg2://h/d").drivername == "postgresql+psycopg"
    assert normalize_url("sqlite:///x.db").drivername == "sqlite"
    with pytest.raises(ValueError, match="unsupported"):
        normalize_url("mysql://h/d")


def test_repr_hides_password() -> None:
    db = Database.__new__(Database)
    db.url = "postgresql+psycopg://user:hunter2@host/db"
    assert "hunter2" not in repr(db)


def test_in_memory_database_shared_across_threads() -> None:
    db = Database("sqlite://")
    conv = repo.create_conversation(db, "mem")
    seen: list[str] = []
    worker = threading.Thread(target=lambda: seen.extend(c.id for c in repo.list_conversations(db)))
    worker.start()
    worker.join()
    assert seen == [conv.id]
    db.close()


def two_threads_append(db: Database, per_thread: int) -> None:
    """Two threads append `per_thread` messages each to one conversation: no error, no gap, nothing lost."""
    conv = repo.create_conversation(db)

    def writer(name: str) -> None:
        for i in range(per_thread):
            # read max(seq) then insert: the pattern that fails with 'database is locked' under BEGIN DEFERRED
            repo.append_messages(db, conv.id, None, [{"role": "user", "content": f"{name}{i}"}])

    results = run_in_threads(writer, "ab")
    assert [r for r in results if isinstance(r, BaseException)] == []
    msgs = repo.get_messages(db, conv.id)
    assert [m.seq for m in msgs] == list(range(2 * per_thread))
    assert sorted(m.content or "" for m in msgs) == sorted(f"{n}{i}" for n in "ab" for i in range(per_thread))


def test_two_threads_append_to_one_conversation(db: Database) -> None:
    two_threads_append(db, per_thread=40)


WORKER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from storage import repo
    from storage.db import Database
    from storage.models import Conversation

    url, go, name = sys.argv[1:4]
    Path(go + "." + name).touch()  # imported and ready
    while not Path(go).exists():  # start line: both processes open the fresh file at the same moment
        time.sleep(0.005)
    db = Database(url)
    with db.session() as s:
        if s.get(Conversation, "shared") is None:
            s.add(Conversation(id="shared"))
    for i in range(25):
        repo.append_messages(db, "shared", None, [{"role": "user", "content": f"{name}{i}"}])
        repo.set_setting(db, f"last_{name}", i)
    """
)


def test_two_processes_migrate_and_write_one_fresh_file(tmp_path: Path) -> None:
    url, go = f"sqlite:///{tmp_path / 'shared.db'}", tmp_path / "go"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = [
        subprocess.Popen([sys.executable, "-c", WORKER, url, str(go), name], env=env, stderr=subprocess.PIPE)
        for name in "pq"
    ]
    deadline = time.monotonic() + 60
    while not all(Path(f"{go}.{name}").exists() for name in "pq") and time.monotonic() < deadline:
        time.sleep(0.01)  # wait until both have imported, so they really start together
    go.touch()
    for proc in procs:
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err.decode()
    db = Database(url)
    try:
        msgs = repo.get_messages(db, "shared")
        assert [m.seq for m in msgs] == list(range(50))
        assert (repo.get_setting(db, "last_p"), repo.get_setting(db, "last_q")) == (24, 24)
        with db.engine.connect() as conn:
            versions = conn.execute(text("SELECT version FROM schema_version")).scalars().all()
        assert versions == [m.version for m in MIGRATIONS]  # each applied once
    finally:
        db.close()
