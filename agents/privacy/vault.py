"""A conversation's placeholder map, in memory for the run and sealed in the database (storage.redaction)."""

from __future__ import annotations

import re
import threading
from pathlib import Path

from storage import redaction
from storage.db import Database

PLACEHOLDER = re.compile(r"<([A-Z][A-Z_]*)_(\d+)>")
# Separators people put in numbers: the same card, IBAN or phone written two ways is one value.
_NUMBER_KINDS = frozenset({"CARD", "IBAN", "PHONE", "SSN", "NIR"})
_SEPARATORS = re.compile(r"[\s.\-()/]")


def lookup_key(kind: str, value: str) -> str:
    """What makes two spellings of a value the same value (digits and letters only for numbers)."""
    return _SEPARATORS.sub("", value).upper() if kind in _NUMBER_KINDS else value


class Vault:
    """Placeholder <-> value for one conversation; new values get the next number of their kind, persisted at once."""

    def __init__(self, db: Database, home: Path, conversation_id: str) -> None:
        self.db, self.home, self.conversation_id = db, home, conversation_id
        self._lock = threading.Lock()
        self._by_placeholder: dict[str, str] = {}
        self._by_key: dict[tuple[str, str], str] = {}
        self._forms: dict[str, str] = {}  # every spelling met -> its placeholder (for the known-value pass)
        self._exempt: set[str] = set()  # placeholders the user chose to send as is
        self.generation = 0  # grows with every new form; cached redactions older than it are brought up to date
        self._added: list[tuple[int, str]] = []  # (generation, form) in order
        self.reload()

    def reload(self) -> None:
        """Read the map again from the database (after the user exempts a value, say)."""
        entries = redaction.load_map(self.db, self.home, self.conversation_id)
        with self._lock:
            self._by_placeholder = {e.placeholder: e.value for e in entries}
            self._by_key = {(e.kind, lookup_key(e.kind, e.value)): e.placeholder for e in entries}
            self._exempt = {e.placeholder for e in entries if e.exempt}
            for e in entries:
                self._remember(e.value, e.placeholder)

    def _remember(self, form: str, placeholder: str) -> None:
        if self._forms.get(form) != placeholder:
            self._forms[form] = placeholder
            self.generation += 1
            self._added.append((self.generation, form))

    def placeholders_for(self, found: list[tuple[str, str]]) -> list[str | None]:
        """The placeholder of each (kind, value), new ones created in one transaction; None for exempt values."""
        keys = [(kind, lookup_key(kind, value)) for kind, value in found]
        with self._lock:
            missing = {key: value for key, (_, value) in zip(keys, found) if key not in self._by_key}
        if missing:
            items = [(kind, value, lookup) for (kind, lookup), value in missing.items()]
            entries = redaction.add_entries(self.db, self.home, self.conversation_id, items)
            with self._lock:
                for key, entry in zip(missing, entries):
                    self._by_key[key] = entry.placeholder
                    self._by_placeholder.setdefault(entry.placeholder, entry.value)
                    if entry.exempt:
                        self._exempt.add(entry.placeholder)
        out: list[str | None] = []
        with self._lock:
            for key, (_, value) in zip(keys, found):
                placeholder = self._by_key[key]
                if placeholder in self._exempt:
                    out.append(None)
                else:
                    self._remember(value, placeholder)
                    out.append(placeholder)
        return out

    def value_of(self, placeholder: str) -> str | None:
        """The value behind a placeholder of this conversation, or None."""
        with self._lock:
            return self._by_placeholder.get(placeholder)

    def forms_since(self, generation: int) -> dict[str, str]:
        """Spellings (value -> placeholder) learnt after `generation`, exempt ones left out."""
        with self._lock:
            return {form: self._forms[form] for g, form in self._added if g > generation
                    and self._forms[form] not in self._exempt}

    def exempt_placeholders(self) -> frozenset[str]:
        """Placeholders whose values are sent as is."""
        with self._lock:
            return frozenset(self._exempt)
