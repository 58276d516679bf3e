"""The kinds of values the redaction layer replaces: placeholder label, what detects it, and whether it is on by default."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Kind:
    """One entity kind: its placeholder label (`<EMAIL_1>`), a line for Settings, and its default switch."""

    name: str
    label: str
    detected_by: str
    default_on: bool = True


KINDS: tuple[Kind, ...] = (
    Kind("EMAIL", "E-mail addresses", "Presidio pattern, domain checked against the public suffix list"),
    Kind("PHONE", "Phone numbers (US, UK, France, any +international)", "phonenumbers (Google libphonenumber), valid numbers only"),
    Kind("CARD", "Payment card numbers", "Presidio pattern + Luhn check"),
    Kind("IBAN", "IBAN bank accounts (FR and every country)", "Presidio pattern + IBAN checksum"),
    Kind("SSN", "US Social Security numbers", "Presidio pattern with its invalid-range checks"),
    Kind("NIR", "French social security numbers (NIR)", "pattern + the NIR key (97 - n mod 97)"),
    Kind("PERSON", "Person names (after a title, a salutation or a name field)", "patterns, no NER: see README for recall"),
    Kind("ADDRESS", "Street addresses (English and French forms)", "patterns: number + street word (+ city, postcode)"),
    Kind("SECRET", "API keys and tokens (AWS, GitHub, Slack, Stripe, OpenAI, JWT …)", "detect-secrets plugins"),
    Kind("PASSWORD", "Passwords in config lines and in connection URLs", "detect-secrets keyword and basic-auth plugins"),
    Kind("PRIVATE_KEY", "PEM / OpenSSH private key blocks", "detect-secrets private-key plugin, whole block"),
    Kind("IP", "IP addresses", "Presidio pattern", default_on=False),
)

BY_NAME: dict[str, Kind] = {k.name: k for k in KINDS}
DEFAULT_KINDS: frozenset[str] = frozenset(k.name for k in KINDS if k.default_on)


def parse_kinds(raw: str | None) -> frozenset[str]:
    """Kinds named in a comma-separated list ('' or None: the defaults); unknown names raise ValueError."""
    if raw is None or not raw.strip():
        return DEFAULT_KINDS
    names = {part.strip().upper() for part in raw.split(",") if part.strip()}
    unknown = sorted(names - BY_NAME.keys())
    if unknown:
        raise ValueError(f"unknown redaction kind(s) {', '.join(unknown)}; known: {', '.join(BY_NAME)}")
    return frozenset(names)
