"""A throwaway PostgreSQL cluster on 127.0.0.1 for tests and benchmarks, and throwaway databases on it."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy.engine import make_url

from tests.helpers import free_port


class ClusterUnavailable(RuntimeError):
    """PostgreSQL cannot be started here; the message says why (callers skip with it)."""


def pg_bindir() -> Path | None:
    """The directory holding initdb, pg_ctl and postgres, or None when PostgreSQL is not installed."""
    found = [shutil.which("pg_ctl"), *sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), reverse=True)]
    for pg_ctl in filter(None, found):
        bindir = Path(pg_ctl).resolve().parent  # /usr/local/bin/pg_ctl is a symlink into the versioned dir
        if (bindir / "initdb").exists() and (bindir / "postgres").exists():
            return bindir
    return None


@contextmanager
def throwaway_cluster(max_connections: int = 100) -> Iterator[str]:
    """Start a fresh cluster on a free port bound to 127.0.0.1; yield its admin URL; stop and delete it on exit.

    Raises ClusterUnavailable when the binaries are missing or the cluster cannot run as an unprivileged user,
    and RuntimeError (with the server log) when it fails to start.
    """
    bindir = pg_bindir()
    if bindir is None:
        raise ClusterUnavailable("PostgreSQL binaries not found (apt install postgresql) and K2HUB_TEST_POSTGRES_URL unset")
    prefix: list[str] = []
    owner = None
    if os.geteuid() == 0:
        # postgres refuses to run as root: run the cluster as the unprivileged 'postgres' user.
        try:
            owner = pwd.getpwnam("postgres")
        except KeyError:
            raise ClusterUnavailable("running as root and there is no unprivileged 'postgres' user") from None
        prefix = ["runuser", "-u", "postgres", "--"]
    home = Path(tempfile.mkdtemp(prefix="k2hub-pg-"))
    if owner is not None:
        os.chown(home, owner.pw_uid, owner.pw_gid)
    data, port = home / "data", free_port()
    run = dict(check=True, capture_output=True, timeout=60, cwd=home)  # cwd: readable by postgres
    try:
        subprocess.run([*prefix, str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust",
                        "-E", "UTF8", "--no-sync"], **run)  # fmt: skip
        options = (f"-p {port} -k {home} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off "
                   f"-c max_connections={max_connections}")  # fmt: skip
        subprocess.run([*prefix, str(bindir / "pg_ctl"), "-D", str(data), "-l", str(home / "log"), "-w",
                        "-t", "30", "-o", options, "start"], **run)  # fmt: skip
    except subprocess.CalledProcessError as exc:
        log = (home / "log").read_text() if (home / "log").exists() else ""
        shutil.rmtree(home, ignore_errors=True)
        raise RuntimeError(f"could not start PostgreSQL: {exc.stderr.decode()}\n{log}") from None
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run([*prefix, str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"],
                       capture_output=True, timeout=60, cwd=home)  # fmt: skip
        shutil.rmtree(home, ignore_errors=True)


def admin_connection(admin_url: str):  # type: ignore[no-untyped-def]
    """An autocommit psycopg connection to the cluster's admin database."""
    import psycopg

    return psycopg.connect(make_url(admin_url).set(drivername="postgresql").render_as_string(False), autocommit=True)


@contextmanager
def new_database(admin_url: str) -> Iterator[str]:
    """A new, empty database on the cluster (its URL), dropped on exit even if sessions are still open."""
    name = f"k2hub_{uuid.uuid4().hex[:12]}"
    with admin_connection(admin_url) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(admin_url).set(database=name).render_as_string(False)
    finally:
        with admin_connection(admin_url) as conn:
            conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
