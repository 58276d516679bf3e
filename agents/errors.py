"""The error hierarchy. Each class says who raises it; they are caught only at boundaries."""

from __future__ import annotations


class AppError(Exception):
    """Base of every error this app raises on purpose; its message is meant for the user."""


class ConfigError(AppError):
    """Raised by settings and provider resolution: unknown provider or model, missing key, bad mcp.json."""


class ProviderError(AppError):
    """Raised by agents.models.providers when a model call fails after retries and fallbacks."""

    def __init__(self, message: str, *, provider: str = "", status: int | None = None, retryable: bool = False):
        super().__init__(message)
        self.provider = provider
        self.status = status
        self.retryable = retryable


class AuthError(ProviderError):
    """Raised by agents.models.providers on 401/403: the key is missing or wrong. Never retried."""


class ContextLengthError(ProviderError):
    """Raised by agents.models.providers when the provider refuses a request as longer than the model's window
    (Moonshot "exceeded model token limit", OpenAI/Groq context_length_exceeded, vLLM "maximum context length").
    Never retried as is: the planner folds the request harder and tries once more."""

    def __init__(self, message: str, *, provider: str = "", status: int | None = None, requested: int | None = None):
        super().__init__(message, provider=provider, status=status)
        self.requested = requested  # the provider's own count of the refused request, when it says


class ModelWorkerDied(ProviderError):
    """Raised by agents.models.call_worker when the model worker process ends while a call waits on it. Not retried
    as a model call: the caller fails (a swarm's sub-agent is started once more, on a new worker)."""


class ToolFailed(AppError):
    """Raised by agents.hub.hub when a tool cannot run: unknown tool, bad arguments, dead or hung server."""


class BudgetExceeded(AppError):
    """Raised by agents.policy.budget when a run hits its step, token, dollar or time limit."""
