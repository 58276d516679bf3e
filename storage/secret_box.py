"""The data home's redaction key (0600) and what it does: Fernet encryption and keyed lookup digests.

The placeholder map of each conversation holds the very values it hides (e-mail addresses, card numbers, API
keys). Its rows keep them only as Fernet tokens (AES-128-CBC + HMAC-SHA256, from the `cryptography` package) and
an HMAC-SHA256 digest for lookups, both keyed by `$K2HUB_HOME/redaction.key`; a database copied off the machine
without that file holds no value in clear. Several app processes sharing one Postgres need the same key file.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import stat
import threading
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

KEY_FILE = "redaction.key"

_lock = threading.Lock()
_boxes: dict[Path, "SecretBox"] = {}


class KeyFileError(RuntimeError):
    """Raised when the key file is unreadable, malformed or readable by other users."""


def _derive(master: bytes, purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"k2hub-redaction/" + purpose).derive(master)


class SecretBox:
    """Encrypts and decrypts map values and computes their lookup digests with one master key."""

    def __init__(self, master: bytes) -> None:
        self._fernet = Fernet(base64.urlsafe_b64encode(_derive(master, b"fernet")))
        self._mac_key = _derive(master, b"lookup")

    def seal(self, value: str) -> bytes:
        """The value as a Fernet token."""
        return self._fernet.encrypt(value.encode("utf-8"))

    def open(self, token: bytes) -> str:
        """The value inside a token; KeyFileError when the token was made with another key."""
        try:
            return self._fernet.decrypt(bytes(token)).decode("utf-8")
        except InvalidToken as exc:
            raise KeyFileError("a redaction map entry cannot be decrypted with this data home's redaction.key "
                               "(was the key file replaced?)") from exc

    def digest(self, scope: str, value: str) -> str:
        """Keyed digest of a value within a scope (a conversation): equal values, equal digests; no key, no guess."""
        return hmac.new(self._mac_key, f"{scope}\0{value}".encode("utf-8"), hashlib.sha256).hexdigest()


def _read_key(path: Path) -> bytes:
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise KeyFileError(f"{path} is readable by other users (mode {mode:o}); run: chmod 600 {path}")
    raw = path.read_bytes().strip()
    try:
        key = base64.urlsafe_b64decode(raw)
    except ValueError as exc:
        raise KeyFileError(f"{path} is not a base64 key") from exc
    if len(key) != 32:
        raise KeyFileError(f"{path} must hold 32 random bytes in base64")
    return key


def _create_key(path: Path) -> None:
    # O_EXCL: two processes starting together cannot both write a key; the loser reads the winner's.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, base64.urlsafe_b64encode(os.urandom(32)) + b"\n")
        os.fsync(fd)
    finally:
        os.close(fd)


def secret_box(home: Path) -> SecretBox:
    """The box of this data home, creating its key file (0600) on first use."""
    path = Path(home) / KEY_FILE
    with _lock:
        box = _boxes.get(path)
        if box is not None:
            return box
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            try:
                _create_key(path)
            except FileExistsError:
                pass
        box = _boxes[path] = SecretBox(_read_key(path))
        return box
