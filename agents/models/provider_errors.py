"""What a provider's error says, read from litellm's exception or the model worker's copy of it (RemoteCallError):
its HTTP status, Retry-After, Groq's failed generation, whether a retry may help, and a one-line form for messages."""

from __future__ import annotations


def status_of(exc: BaseException) -> int | None:
    code = getattr(exc, "status_code", None)
    return code if isinstance(code, int) else None


def retry_after(exc: BaseException) -> float | None:
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None) or getattr(exc, "litellm_response_headers", None) or {}
    try:
        value = headers.get("retry-after") or headers.get("Retry-After")
        return float(value) if value is not None else None
    except (TypeError, ValueError, AttributeError):
        return None


def failed_generation(exc: BaseException) -> str | None:
    text = str(exc)
    # Groq's code in a 400 body, or its message when the error arrives inside the stream.
    if "tool_use_failed" not in text and "Failed to call a function" not in text:
        return None
    marker = '"failed_generation":'
    at = text.find(marker)
    return text[at + len(marker) :].strip()[:2000] if at >= 0 else ""


def short(exc: BaseException) -> str:
    text = str(exc).replace("\n", " ")
    status = status_of(exc)
    prefix = f"HTTP {status}: " if status else f"{getattr(exc, 'kind', None) or type(exc).__name__}: "
    return prefix + (text[:300] + "…" if len(text) > 300 else text)


def is_retryable(exc: BaseException) -> bool:
    status = status_of(exc)
    if status is not None:
        return status == 429 or status >= 500
    # No status: connection reset, timeout or a broken stream.
    return True
