"""Answers scanned for real-looking secrets and identifiers the model did not get from the conversation."""

from __future__ import annotations

from agents.privacy import detector

# Kinds whose appearance out of nowhere means a leak or a hallucination: keys, passwords, private keys and
# checksummed identifiers. E-mails, phones, names and addresses are left alone: models write examples of those
# (user@example.com) and name public people, and masking them would break ordinary answers.
FILTERED = frozenset({"SECRET", "PASSWORD", "PRIVATE_KEY", "CARD", "IBAN", "SSN", "NIR"})


def mask_unseen(answer: str, seen: str, kinds: frozenset[str] = FILTERED) -> tuple[str, list[str]]:
    """The answer with values found neither in `seen` (everything the model was sent) masked, and their kinds."""
    if not answer:
        return answer, []
    pieces: list[str] = []
    masked: list[str] = []
    at = 0
    for found in detector.find(answer, kinds):
        value = answer[found.start : found.end]
        if value in seen:
            continue
        pieces += [answer[at : found.start], f"[hidden {found.kind}]"]
        masked.append(found.kind)
        at = found.end
    pieces.append(answer[at:])
    return "".join(pieces), masked
