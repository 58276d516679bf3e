"""Run errors in the user's words: what went wrong and what to do next, never a raw exception.

The planner reports a crash as "<ExceptionType>: <message>"; provider libraries put their own class names, HTTP
bodies and URLs in the message. The patterns below turn the common cases into one sentence with the next action;
anything else keeps its first line, without class names, and points at the server log.
"""

from __future__ import annotations

import re

_CLASS_PREFIX = re.compile(r"^(?:[\w.]*(?:Error|Exception|Exceeded|Failed)\s*[:-]\s*)+")
_TOKENS = re.compile(r"(\d[\d,]*)\s*tokens", re.IGNORECASE)

# (pattern, what the user reads); the first match wins.
_RULES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"context.?length|context window|maximum context|prompt is \d[\d,]* tokens|too many tokens|"
                r"reduce the length", re.IGNORECASE),
     "The request is larger than the model's context window{tokens}. Start a new chat, attach fewer or smaller "
     "documents (they are then searched instead of sent whole), or pick a model with a bigger window."),
    (re.compile(r"\b401\b|unauthori[sz]ed|invalid api key|incorrect api key|authentication", re.IGNORECASE),
     "The provider refused the API key. Enter a valid key in Settings (or pick another provider) and send again."),
    (re.compile(r"\b429\b|rate.?limit|too many requests|quota", re.IGNORECASE),
     "The provider is rate limiting this key. Wait a minute and send again, or pick another provider."),
    (re.compile(r"connection refused|connecterror|cannot connect|failed to establish|name or service not known|"
                r"nodename nor servname", re.IGNORECASE),
     "The model server cannot be reached. Check that it is running and that the base URL is right, then send "
     "again."),
    (re.compile(r"timed? ?out|timeout", re.IGNORECASE),
     "The model took too long to answer. Send again, or pick a faster model."),
    (re.compile(r"model[`' ]+.*(does not exist|not found)|model_not_found", re.IGNORECASE),
     "The provider does not know this model. Pick another model (↻ Refresh models lists what it serves)."),
)


# Our own errors already speak to the user (their message is written for them): only their class name goes.
# ProviderError and ContextLengthError carry the provider's own text, so they go through the rules below.
# A provider library's text inside a message: class names, HTTP codes, the library's own name.
_FOREIGN = re.compile(r"litellm|openai\w*exception|httpx|traceback|\bHTTP \d{3}\b|^[\w.]*(Error|Exception):",
                      re.IGNORECASE)
_OWN = re.compile(r"^(AppError|ConfigError|AuthError|ToolFailed|BudgetExceeded): ")


def in_user_words(error: str) -> str:
    """The error as a sentence with the next action; '' stays ''."""
    text = (error or "").strip()
    if not text:
        return ""
    if _OWN.match(text):
        return _OWN.sub("", text)
    if not _FOREIGN.search(text):  # a sentence our own code wrote (e.g. "Stopped by the user.") reads as it is
        return text
    for pattern, words in _RULES:
        if pattern.search(text):
            # The request's size is the largest count the message names (the window is the smaller one).
            counts = [int(n.replace(",", "")) for n in _TOKENS.findall(text)] if "{tokens}" in words else []
            return words.format(tokens=f" (the request is {max(counts):,} tokens)" if counts else "")
    first = _CLASS_PREFIX.sub("", text.splitlines()[0]).strip()
    return f"{first.rstrip('.')}. The details are in the server log."
