"""Why a server failed, in words the user and the model can act on."""

from __future__ import annotations

import httpx2

from agents.errors import ToolFailed
from agents.hub.oauth import LoginRequired
from agents.hub.stdio import StdioChannel


def login_required(exc: BaseException) -> LoginRequired | None:
    """The LoginRequired inside an exception (group), if the OAuth layer raised one."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    seen = 0
    while exc is not None and seen < 5:
        if isinstance(exc, LoginRequired):
            return exc
        exc = exc.__cause__ or exc.__context__  # type: ignore[assignment]
        seen += 1
    return None


def exit_text(code: int | None, channel: StdioChannel) -> str:
    """'exit code N; last stderr: ...' for messages and status."""
    if code is None:
        what = "closed its output"
    elif code < 0:
        what = f"killed by signal {-code}"
    else:
        what = f"exit code {code}"
    tail = " | ".join(channel.stderr_tail(3))[-500:]
    return f"{what}; last stderr: {tail}" if tail else what


def describe(exc: BaseException) -> str:
    """A one-line reason from an exception, unwrapping anyio's exception groups."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    if isinstance(exc, FileNotFoundError) and exc.filename:
        return f"cannot start: command not found: {exc.filename}"
    if isinstance(exc, ToolFailed):
        return str(exc)
    if isinstance(exc, httpx2.TimeoutException):
        url = exc.request.url if getattr(exc, "_request", None) is not None else "the server"
        return f"{url} did not answer in time ({type(exc).__name__})"
    if isinstance(exc, httpx2.TransportError):
        return f"cannot reach the server: {type(exc).__name__}: {exc}"
    text = str(exc) or type(exc).__name__
    return f"{type(exc).__name__}: {text}" if type(exc).__name__ not in text else text
