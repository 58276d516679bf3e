"""Storage fixtures: a fresh SQLite Database per test and, when PostgreSQL is installed, a throwaway cluster."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TypeVar

import pytest

from storage.db import Database
from tests.helpers import free_port

T = TypeVar("T")
R = TypeVar("R")


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    """URL of a SQLite file that does not exist yet."""
    return f"sqlite:///{tmp_path / 'k2hub.db'}"


@pytest.fixture
def db(db_url: str) -> Iterator[Database]:
    """A migrated Database on a fresh SQLite file (test_postgres overrides it with a Postgres one)."""
    database = Database(db_url)
    yield database
    database.close()


def run_in_threads(work: Callable[[T], R], args: Iterable[T]) -> list[R | BaseException]:
    """Run work(arg) for each arg in a thread of its own, all released together; return each result or exception."""
    args = list(args)
    barrier = threading.Barrier(len(args))
    results: list[R | BaseException] = []

    def run(arg: T) -> None:
        barrier.wait()
        try:
            results.append(work(arg))
        except BaseException as exc:  # noqa: BLE001 - returned for the caller to assert on
            results.append(exc)

    threads = [threading.Thread(target=run, args=(a,)) for a in args]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def _pg_bindir() -> Path | None:
    found = [shutil.which("pg_ctl"), *sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), reverse=True)]
    for pg_ctl in filter(None, found):
        bindir = Path(pg_ctl).resolve().parent  # /usr/local/bin/pg_ctl is a symlink into the versioned dir
        if (bindir / "initdb").exists() and (bindir / "postgres").exists():
            return bindir
    return None


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """Admin URL of a PostgreSQL server: $K2HUB_TEST_POSTGRES_URL, or a throwaway cluster on a free port."""
    if os.environ.get("K2HUB_TEST_POSTGRES_URL"):
        yield os.environ["K2HUB_TEST_POSTGRES_URL"]
        return
    bindir = _pg_bindir()
    if bindir is None:
        pytest.skip("PostgreSQL binaries not found (apt install postgresql) and K2HUB_TEST_POSTGRES_URL unset")
    prefix: list[str] = []
    owner = None
    if os.geteuid() == 0:
        # postgres refuses to run as root: run the cluster as the unprivileged 'postgres' user.
        try:
            owner = pwd.getpwnam("postgres")
        except KeyError:
            pytest.skip("running as root and there is no unprivileged 'postgres' user to run PostgreSQL")
        prefix = ["runuser", "-u", "postgres", "--"]
    home = Path(tempfile.mkdtemp(prefix="k2hub-pg-"))
    if owner is not None:
        os.chown(home, owner.pw_uid, owner.pw_gid)
    data, port = home / "data", free_port()
    run = dict(check=True, capture_output=True, timeout=60, cwd=home)  # cwd: readable by postgres
    try:
        subprocess.run([*prefix, str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust",
                        "-E", "UTF8", "--no-sync"], **run)  # fmt: skip
        options = f"-p {port} -k {home} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off"
        subprocess.run([*prefix, str(bindir / "pg_ctl"), "-D", str(data), "-l", str(home / "log"), "-w",
                        "-t", "30", "-o", options, "start"], **run)  # fmt: skip
    except subprocess.CalledProcessError as exc:
        log = (home / "log").read_text() if (home / "log").exists() else ""
        shutil.rmtree(home, ignore_errors=True)
        pytest.fail(f"could not start PostgreSQL: {exc.stderr.decode()}\n{log}")
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run([*prefix, str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"],
                       capture_output=True, timeout=60, cwd=home)  # fmt: skip
        shutil.rmtree(home, ignore_errors=True)
