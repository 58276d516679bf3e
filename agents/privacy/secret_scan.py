"""Secrets in free text, found with Yelp's detect-secrets plugins (their curated patterns), with positions.

detect-secrets scans files line by line and reports values; redaction needs spans in a long text, fast. So each
regex plugin's own patterns run once over the whole text, the keyword plugin (``password = …``) only on lines
that name a secret-ish word, and a private-key header is widened to its whole PEM block. The entropy plugins are
left out: on prose they flag ordinary words (every capitalised heading of a 10-K).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from detect_secrets.plugins import keyword
from detect_secrets.plugins.artifactory import ArtifactoryDetector
from detect_secrets.plugins.aws import AWSKeyDetector
from detect_secrets.plugins.azure_storage_key import AzureStorageKeyDetector
from detect_secrets.plugins.base import RegexBasedDetector
from detect_secrets.plugins.basic_auth import BasicAuthDetector
from detect_secrets.plugins.discord import DiscordBotTokenDetector
from detect_secrets.plugins.github_token import GitHubTokenDetector
from detect_secrets.plugins.gitlab_token import GitLabTokenDetector
from detect_secrets.plugins.jwt import JwtTokenDetector
from detect_secrets.plugins.mailchimp import MailchimpDetector
from detect_secrets.plugins.npm import NpmDetector
from detect_secrets.plugins.openai import OpenAIDetector
from detect_secrets.plugins.private_key import PrivateKeyDetector
from detect_secrets.plugins.pypi_token import PypiTokenDetector
from detect_secrets.plugins.sendgrid import SendGridDetector
from detect_secrets.plugins.slack import SlackDetector
from detect_secrets.plugins.square_oauth import SquareOAuthDetector
from detect_secrets.plugins.stripe import StripeDetector
from detect_secrets.plugins.telegram_token import TelegramBotTokenDetector
from detect_secrets.plugins.twilio import TwilioKeyDetector


class ProviderKeyDetector(RegexBasedDetector):
    """Current model-provider keys detect-secrets predates (sk-proj-…, sk-ant-…, Groq gsk_, Hugging Face hf_)."""

    secret_type = "Model Provider Key"
    denylist = [re.compile(r"\b(?:sk-(?:proj-|ant-|or-)?|gsk_|hf_)[A-Za-z0-9_\-]{24,}")]


TOKEN_PLUGINS: tuple[RegexBasedDetector, ...] = (
    AWSKeyDetector(), ArtifactoryDetector(), AzureStorageKeyDetector(), DiscordBotTokenDetector(),
    GitHubTokenDetector(), GitLabTokenDetector(), JwtTokenDetector(), MailchimpDetector(), NpmDetector(),
    OpenAIDetector(), PypiTokenDetector(), SendGridDetector(), SlackDetector(), SquareOAuthDetector(),
    StripeDetector(), TelegramBotTokenDetector(), TwilioKeyDetector(), ProviderKeyDetector(),
)  # fmt: skip
_BASIC_AUTH = BasicAuthDetector()
# A secret-ish word followed by ':' or '=' (config lines, .env, YAML, code): the keyword plugin's own patterns
# then decide, on that line only.
_KEYWORD_HINT = re.compile(keyword.DENYLIST_REGEX + r"[\]'\"]{0,2}\s*[:=]", re.IGNORECASE)
# Every token pattern needs a run of 10+ key-ish characters mixing letters and digits; only lines holding one are
# scanned (a 10-K has a few hundred such lines out of thousands).
_TOKEN_RUN = re.compile(r"[A-Za-z0-9_\-+/=.]{10,}")
_HAS_DIGIT = re.compile(r"\d")
_HAS_ALPHA = re.compile(r"[A-Za-z]")
_PEM_END = re.compile(r"-----END [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----|---- END SSH2 ENCRYPTED PRIVATE KEY ----")
_ASSIGN = re.compile(r"[:=]")
_PLACEHOLDER = re.compile(r"<[A-Z_]+_\d+>")


@dataclass(frozen=True)
class SecretSpan:
    """A secret's position in the text and its kind (SECRET, PASSWORD or PRIVATE_KEY)."""

    start: int
    end: int
    kind: str


def _span(match: re.Match[str]) -> tuple[int, int]:
    # A pattern that captures the value (AWS secret assignments, basic auth) marks it with its group; short groups
    # are prefixes such as GitHub's 'ghp', and then the whole match is the secret.
    if match.lastindex:
        start, end = match.span(match.lastindex)
        if end - start >= 8:
            return start, end
    return match.span()


def _token_lines(text: str) -> list[tuple[int, int]]:
    """(start, end) of each line holding a run of key-ish characters that mixes letters and digits."""
    lines: list[tuple[int, int]] = []
    for run in _TOKEN_RUN.finditer(text):
        word = run.group()
        if lines and run.start() < lines[-1][1]:
            continue
        if _HAS_DIGIT.search(word) and _HAS_ALPHA.search(word):
            start = text.rfind("\n", 0, run.start()) + 1
            end = text.find("\n", run.end())
            lines.append((start, len(text) if end < 0 else end))
    return lines


def _tokens(text: str) -> Iterator[SecretSpan]:
    for line_start, line_end in _token_lines(text):
        line = text[line_start:line_end]
        for plugin in TOKEN_PLUGINS:
            check: Any = getattr(plugin, "is_formally_valid", None)  # JWT: the parts must decode
            for regex in plugin.denylist:
                for match in regex.finditer(line):
                    start, end = _span(match)
                    if end > start and (check is None or check(line[start:end])):
                        yield SecretSpan(line_start + start, line_start + end, "SECRET")


def _passwords(text: str) -> Iterator[SecretSpan]:
    for regex in _BASIC_AUTH.denylist:  # scheme://user:PASSWORD@host
        for match in regex.finditer(text):
            start, end = _span(match)
            if not _PLACEHOLDER.fullmatch(text[start:end]):
                yield SecretSpan(start, end, "PASSWORD")
    seen: set[int] = set()
    for sign in _ASSIGN.finditer(text):
        # The keyword pattern is costly over a whole document; only the 60 characters before a ':' or '=' matter.
        line_start = text.rfind("\n", 0, sign.start()) + 1
        if line_start in seen or not _KEYWORD_HINT.search(text, max(line_start, sign.start() - 60), sign.end()):
            continue
        seen.add(line_start)
        line_end = text.find("\n", sign.end())
        line_end = len(text) if line_end < 0 else line_end
        line = text[line_start:line_end]
        for regex, group in keyword.CONFIG_DENYLIST_REGEX_TO_GROUP.items():
            for match in regex.finditer(line):
                start, end = match.span(group)
                value = line[start:end].strip()
                # Four characters at least, one word (prose such as "trade secret: the formula" is not a
                # config line), and not a placeholder we wrote ourselves.
                if len(value) >= 4 and not any(c.isspace() for c in value) and not _PLACEHOLDER.fullmatch(value):
                    yield SecretSpan(line_start + start, line_start + end, "PASSWORD")


def _private_keys(text: str) -> Iterator[SecretSpan]:
    for regex in PrivateKeyDetector.denylist:
        for match in regex.finditer(text):
            # From the header's leading dashes to the END line (or the end of the text when it was cut).
            start = match.start()
            while start > 0 and text[start - 1] in "-— ":
                start -= 1
            end_match = _PEM_END.search(text, match.end())
            end = end_match.end() if end_match else len(text)
            yield SecretSpan(start, end, "PRIVATE_KEY")


def find_secrets(text: str, kinds: frozenset[str]) -> list[SecretSpan]:
    """Secret spans of the wanted kinds in `text` (overlaps are left to the caller)."""
    spans: list[SecretSpan] = []
    if "SECRET" in kinds:
        spans.extend(_tokens(text))
    if "PASSWORD" in kinds:
        spans.extend(_passwords(text))
    if "PRIVATE_KEY" in kinds:
        spans.extend(_private_keys(text))
    return spans
