"""Which model a run uses: ModelSpec, and how the user's choice (provider, model, base URL, keys) becomes one."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from agents.errors import AuthError, ConfigError, ProviderError
from agents.models.local.installer import INSTALLER, ready_on_disk
from agents.models.local.weights import local_model_id
from agents.models.presets import (INSTRUCT_TEMPERATURE, PRESETS, THINKING_TEMPERATURE, THINKING_TOP_P, ModelInfo,
                                   Preset)
from agents.models.secrets import get_secret


@dataclass(frozen=True)
class ModelSpec:
    """One concrete model on one provider, ready for a call."""

    provider: str
    model: str
    api_base: str | None
    api_key: str | None
    info: ModelInfo
    prefix: str

    @property
    def litellm_model(self) -> str:
        return f"{self.prefix}{self.model}"

    @property
    def label(self) -> str:
        return f"{self.provider}/{self.model}"

    def sampling(self) -> dict[str, float]:
        """K2's recommended sampling, unless the model fixes it server-side (or is a small local one)."""
        if self.info.fixed_sampling:
            return {}
        if self.info.temperature is not None:
            return {"temperature": self.info.temperature}
        if self.info.thinking:
            return {"temperature": THINKING_TEMPERATURE, "top_p": THINKING_TOP_P}
        return {"temperature": INSTRUCT_TEMPERATURE}


NO_LOCAL_DEFAULT = "The local model is installed but --no-local keeps it from being the default: pick it explicitly."
LOCAL_OFF = "The embedded local model is off (--no-local / K2HUB_LOCAL=false)."
NO_MODEL_MESSAGE = (
    "No model configured. Set GROQ_API_KEY or MOONSHOT_API_KEY (in the environment or in {home}/.env, mode 600), "
    "or choose 'Local vLLM' / 'OpenAI-compatible URL' and give its base URL."
)


def resolve(
    provider: str | None,
    model: str | None = None,
    base_url: str | None = None,
    *,
    home: Path,
    api_key: str | None = None,
    local: bool = True,
) -> ModelSpec:
    """Turn the user's choice into a ModelSpec, or raise ConfigError saying exactly what to set.

    `local=False` (--no-local, K2HUB_LOCAL=false) keeps the embedded local model from being the automatic choice.
    """
    if not provider:
        provider = default_provider(home, local=local)
        if provider is None:
            status = INSTALLER.status()
            if status.busy:  # say first what is happening and how long it takes
                raise ConfigError(f"No model configured yet. {status.line()} It answers here once ready. For Kimi K2 "
                                  f"now: {NO_MODEL_MESSAGE.format(home=home).removeprefix('No model configured. ')}")
            why = NO_LOCAL_DEFAULT if status.phase == "ready" else status.line() if local else LOCAL_OFF
            raise ConfigError(f"{NO_MODEL_MESSAGE.format(home=home)} {why}")
    preset = PRESETS.get(provider)
    if preset is None:
        raise ConfigError(f"Unknown provider {provider!r}. Choose one of: {', '.join(PRESETS)}.")
    if not preset.available:
        raise ConfigError(f"{preset.label}: {preset.note}")
    if preset.name == "local":
        if INSTALLER.status().busy or not ready_on_disk():
            raise ConfigError(INSTALLER.status().line())
        model = model or local_model_id()
    api_base = base_url or preset.api_base
    key = api_key or stored_key(preset, api_base, home)
    if preset.key_env and not key and not preset.key_optional:
        if not sends_own_key(preset, api_base):
            raise ConfigError(
                f"{preset.key_env} is only ever sent to {' / '.join(preset.key_hosts)} over https, and {api_base} is "
                f"not one of them. For this server, set {OWN_SERVER_KEY} (sent to the base URL you give) or choose "
                "'OpenAI-compatible URL'."
            )
        raise ConfigError(f"{preset.key_env} is not set: {preset.label} needs it (environment or {home}/.env).")
    if preset.needs_base_url and not api_base:
        raise ConfigError(f"{preset.label} needs a base URL (e.g. http://localhost:8000/v1).")
    chosen = model or preset.default_model
    if not chosen:
        raise ConfigError(f"{preset.label}: choose a model (the model list is read from {api_base}/models).")
    # Servers without auth still get a placeholder: the OpenAI client refuses an empty key.
    return ModelSpec(provider, chosen, api_base, key or "none", preset.info(chosen), preset.prefix)


OWN_SERVER_KEY = "K2HUB_API_KEY"
"""The key the user gives for servers they name themselves (vLLM, OpenAI-compatible, a keyed preset elsewhere)."""


def sends_own_key(preset: Preset, base_url: str | None) -> bool:
    """Whether base_url is one of the preset's own hosts, over https (presets without key_hosts: any URL)."""
    if not preset.key_hosts or not base_url:
        return True
    parts = urlsplit(base_url)
    return parts.scheme == "https" and (parts.hostname or "").lower() in preset.key_hosts


def stored_key(preset: Preset, base_url: str | None, home: Path) -> str | None:
    """The key to send to base_url: the preset's own key only to its own hosts; elsewhere K2HUB_API_KEY or none.

    A provider key stored for Moonshot or Groq must never travel to a URL someone typed (or a web page made the
    UI post): that server would receive the user's key.
    """
    if not preset.key_env:
        return None
    if not sends_own_key(preset, base_url):
        return get_secret(OWN_SERVER_KEY, home)
    return get_secret(preset.key_env, home)


def first_configured_provider(home: Path) -> str | None:
    """The first hosted preset whose key is set, for users who did not pick one."""
    for preset in PRESETS.values():
        if preset.key_env and not preset.key_optional and get_secret(preset.key_env, home):
            return preset.name
    return None


def default_provider(home: Path, *, local: bool = True) -> str | None:
    """A hosted preset with a key; else the embedded local model when it is ready and `local`; else None."""
    found = first_configured_provider(home)
    if found is None and local and ready_on_disk():
        return "local"
    return found


def resolve_chain(primary: ModelSpec, fallbacks: list[str], *, home: Path) -> list[ModelSpec]:
    """The primary followed by every fallback preset that is configured; unconfigured ones are skipped."""
    chain = [primary]
    for name in fallbacks:
        try:
            spec = resolve(name, home=home)
        except ConfigError:
            continue
        if spec.label not in {s.label for s in chain}:
            chain.append(spec)
    return chain


def key_env_names() -> list[str]:
    """Every key variable the presets read (for the key-status panel)."""
    return sorted({p.key_env for p in PRESETS.values() if p.key_env})


async def discover_models(provider: str, base_url: str | None = None, *, home: Path, api_key: str | None = None) -> list[str]:
    """Model ids the provider serves (GET /models)."""
    import httpx

    preset = PRESETS.get(provider)
    if preset is None or not preset.available:
        raise ConfigError(f"Unknown or unavailable provider {provider!r}.")
    if preset.name == "local":
        return [local_model_id()]  # one model: the file the local server loads
    base = (base_url or preset.api_base or "").rstrip("/")
    if not base:
        raise ConfigError(f"{preset.label} needs a base URL.")
    key = api_key or stored_key(preset, base, home)
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    async with httpx.AsyncClient(timeout=15) as client:
        try:
            resp = await client.get(f"{base}/models", headers=headers)
        except httpx.HTTPError as exc:
            raise ProviderError(f"{preset.label}: cannot reach {base}/models ({exc})", provider=provider) from exc
    if resp.status_code in (401, 403):
        raise AuthError(f"Key missing or wrong for {preset.label} ({resp.status_code}).", provider=provider)
    if resp.status_code >= 400:
        raise ProviderError(f"{preset.label}: GET /models answered {resp.status_code}", provider=provider)
    return sorted(m["id"] for m in resp.json().get("data", []))
