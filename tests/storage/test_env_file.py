"""The data home's .env: parsed once per content (the model layer reads settings on every call), never stale."""

from __future__ import annotations

import os

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
