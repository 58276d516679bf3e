"""Finds the values to replace in a text: Presidio (pattern and checksum recognizers, no NLP model) + detect-secrets.

Presidio is built once per process with a no-op NLP engine (no spaCy model to download), the stock recognizers
for cards, IBANs, US SSNs and IPs, and ours (agents/privacy/recognizers.py) for phones, e-mails, the French NIR,
person names and street addresses. Importing Presidio costs seconds (it imports spaCy): `warm_up()` does it in a
background thread at start-up.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Any

from agents.privacy.secret_scan import find_secrets

# Presidio entity -> our kind; the kinds decide which recognizers run.
ENTITY_KIND: dict[str, str] = {
    "EMAIL_ADDRESS": "EMAIL",
    "PHONE_NUMBER": "PHONE",
    "CREDIT_CARD": "CARD",
    "IBAN_CODE": "IBAN",
    "US_SSN": "SSN",
    "FR_NIR": "NIR",
    "PERSON": "PERSON",
    "STREET_ADDRESS": "ADDRESS",
    "IP_ADDRESS": "IP",
}
SCORE_THRESHOLD = 0.4  # Presidio's medium patterns (SSN with separators 0.5, phones 0.4); validated ones score 1.0
_SECRET_KINDS = frozenset({"SECRET", "PASSWORD", "PRIVATE_KEY"})
# Secrets first, then checksummed identifiers, then the rest: on an overlap of equal length the first one wins.
_PRIORITY = ("PRIVATE_KEY", "SECRET", "PASSWORD", "CARD", "IBAN", "NIR", "SSN", "EMAIL", "PHONE", "ADDRESS", "PERSON", "IP")

_lock = threading.Lock()
_engine: Any = None


@dataclass(frozen=True)
class Found:
    """A value to replace: where it is and its kind."""

    start: int
    end: int
    kind: str


def analyzer() -> Any:
    """The process's Presidio AnalyzerEngine (built on first use; thread-safe)."""
    global _engine
    with _lock:
        if _engine is None:
            _engine = _build()
        return _engine


def _build() -> Any:
    from presidio_analyzer import AnalyzerEngine, RecognizerRegistry
    from presidio_analyzer.nlp_engine import NoOpNlpEngine
    from presidio_analyzer.predefined_recognizers import CreditCardRecognizer, IbanRecognizer, IpRecognizer
    from presidio_analyzer.predefined_recognizers import UsSsnRecognizer

    from agents.privacy.recognizers import (
        FastPhoneRecognizer,
        FrNirRecognizer,
        NoContextEnhancer,
        OfflineEmailRecognizer,
        PersonPatternRecognizer,
        StreetAddressRecognizer,
    )

    # Presidio logs each match at DEBUG with its text: never let a value reach the logs.
    logging.getLogger("presidio-analyzer").setLevel(logging.WARNING)
    registry = RecognizerRegistry(supported_languages=["en"])
    for recognizer in (CreditCardRecognizer(), IbanRecognizer(), UsSsnRecognizer(), IpRecognizer(),
                       FastPhoneRecognizer(), OfflineEmailRecognizer(), FrNirRecognizer(), PersonPatternRecognizer(),
                       StreetAddressRecognizer()):
        registry.add_recognizer(recognizer)
    nlp = NoOpNlpEngine(models=[{"lang_code": "en", "model_name": "none"}])
    nlp.load()
    return AnalyzerEngine(registry=registry, nlp_engine=nlp, supported_languages=["en"],
                          context_aware_enhancer=NoContextEnhancer())


def warm_up() -> None:
    """Import and build Presidio now (call in a background thread) so the first request does not wait for it."""
    find("warm up: jane@example.com", frozenset(ENTITY_KIND.values()))


def find(text: str, kinds: frozenset[str]) -> list[Found]:
    """Non-overlapping values of the wanted kinds in `text`, in order."""
    if not text or not kinds:
        return []
    found: list[Found] = []
    entities = [e for e, k in ENTITY_KIND.items() if k in kinds]
    if entities:
        for r in analyzer().analyze(text, language="en", entities=entities, score_threshold=SCORE_THRESHOLD):
            found.append(Found(r.start, r.end, ENTITY_KIND[r.entity_type]))
    if kinds & _SECRET_KINDS:
        found.extend(Found(s.start, s.end, s.kind) for s in find_secrets(text, kinds))
    return _without_overlaps(found)


def _without_overlaps(found: list[Found]) -> list[Found]:
    # Secrets first (the password inside postgres://user:pass@host is no e-mail address), then the longest (a PEM
    # block beats a token inside it; an address beats a number inside it), then by priority.
    ranked = sorted(found, key=lambda f: (f.kind not in _SECRET_KINDS, -(f.end - f.start), _PRIORITY.index(f.kind),
                                          f.start))
    kept: list[Found] = []
    for f in ranked:
        if all(f.end <= k.start or f.start >= k.end for k in kept):
            kept.append(f)
    return sorted(kept, key=lambda f: f.start)
