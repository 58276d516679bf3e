"""Storage fixtures: a fresh SQLite Database per test and, when PostgreSQL is installed, a throwaway cluster."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import TypeVar

import pytest

from storage.db import Database
from tests.helpers import skip_missing
from tests.pg_cluster import ClusterUnavailable, new_database, throwaway_cluster

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


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """Admin URL of a PostgreSQL server: $K2HUB_TEST_POSTGRES_URL, or a throwaway cluster on a free port."""
    if os.environ.get("K2HUB_TEST_POSTGRES_URL"):
        yield os.environ["K2HUB_TEST_POSTGRES_URL"]
        return
    with ExitStack() as stack:
        try:
            url = stack.enter_context(throwaway_cluster())
        except ClusterUnavailable as exc:  # no PostgreSQL here: a failure in strict mode (CI)
            skip_missing(str(exc))
        except RuntimeError as exc:
            pytest.fail(str(exc))
        yield url


@pytest.fixture
def pg_database(pg_url: str) -> Iterator[str]:
    """URL of a new, empty database on the test server, dropped afterwards."""
    with new_database(pg_url) as url:
        yield url
