"""The data home's .env: parsed once per content (the model layer reads settings on every call), never stale."""

from __future__ import annotations

import os
import time

from storage import env_file as env_module
from storage.env_file import env_file, read_env_file


def test_a_rewrite_in_place_is_read_at_once_even_with_the_same_size_and_time(tmp_path):
    path = env_file(tmp_path)
    path.write_text("K2HUB_PRICES=aaa\n")
    path.chmod(0o600)
    assert read_env_file(tmp_path) == {"K2HUB_PRICES": "aaa"}
    stat = path.stat()
    path.write_text("K2HUB_PRICES=bbb\n")  # same inode, same size
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # and the same modification time
    assert read_env_file(tmp_path) == {"K2HUB_PRICES": "bbb"}
    read_env_file(tmp_path)["K2HUB_PRICES"] = "changed by a caller"
    assert read_env_file(tmp_path) == {"K2HUB_PRICES": "bbb"}  # callers get a copy, not the cache
    path.unlink()
    assert read_env_file(tmp_path) == {}


def test_a_settled_file_is_not_read_again_until_it_changes_even_when_its_time_is_set_back(tmp_path, monkeypatch):
    """Once a file is older than the racy window its parse is reused (no read per setting); an edit in place of the
    same size, its modification time set back (cp -p, rsync -t), still changes its change time: read again."""
    monkeypatch.setattr(env_module, "RACY_NS", 50_000_000)
    path = env_file(tmp_path)
    path.write_text("K2HUB_PRICES=aaa\n")
    path.chmod(0o600)
    before = path.stat()
    time.sleep(0.1)
    assert read_env_file(tmp_path) == {"K2HUB_PRICES": "aaa"}
    reads: list[object] = []
    real = type(path).read_bytes
    monkeypatch.setattr(type(path), "read_bytes", lambda self: reads.append(self) or real(self))
    assert read_env_file(tmp_path) == {"K2HUB_PRICES": "aaa"} and reads == []  # settled: the parse is reused
    path.write_text("K2HUB_PRICES=bbb\n")  # same inode, same size
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))  # and its old modification time
    assert read_env_file(tmp_path) == {"K2HUB_PRICES": "bbb"} and len(reads) == 1
