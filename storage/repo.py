"""The queries the app needs: conversations, messages, runs, steps, artifacts, settings.

Every function takes the Database first and opens its own transaction, so a call is atomic.
Returned rows are detached copies: reading their fields is fine, changing them changes nothing stored.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy import bindparam
from sqlmodel import Session, col, func, select

from storage.db import Database
from storage.models import RUN_STATUSES, STEP_KINDS, Artifact, Conversation, Message, Run, Setting, Step, utcnow

# Message keys with a column of their own; any other key goes to Message.extra verbatim.
_MESSAGE_COLUMNS = ("reasoning_content", "tool_calls", "tool_call_id", "name")


class NotFound(LookupError):
    """Raised when a conversation, run or step the caller names does not exist."""


class SecretRefused(ValueError):
    """Raised by set_setting for a key-like name or value: secrets live in the environment or the 0600 .env."""


def _get(session: Session, model: type[Any], key: Any, lock: bool = False) -> Any:
    # FOR UPDATE serialises concurrent appends on Postgres; SQLite's BEGIN IMMEDIATE already did.
    row = session.get(model, key, with_for_update=lock or None)
    if row is None:
        raise NotFound(f"no {model.__name__.lower()} {key!r}")
    return row


# ---- conversations -------------------------------------------------------------------------------------


def create_conversation(db: Database, title: str = "New chat", provider: str = "", model: str = "") -> Conversation:
    """A new, empty conversation."""
    with db.session() as s:
        conv = Conversation(title=title, provider=provider, model=model)
        s.add(conv)
    return conv


def get_conversation(db: Database, conversation_id: str) -> Conversation | None:
    """The conversation, or None."""
    with db.session(write=False) as s:
        return s.get(Conversation, conversation_id)


def list_conversations(db: Database, limit: int = 50) -> list[Conversation]:
    """Conversations, most recently updated first."""
    with db.session(write=False) as s:
        query = select(Conversation).order_by(col(Conversation.updated_at).desc(), col(Conversation.id)).limit(limit)
        return list(s.exec(query))


def rename_conversation(db: Database, conversation_id: str, title: str) -> Conversation:
    """Set the title (does not move the conversation up the list)."""
    with db.session() as s:
        conv = _get(s, Conversation, conversation_id)
        conv.title = title
    return conv


def touch_conversation(
    db: Database, conversation_id: str, provider: str | None = None, model: str | None = None
) -> Conversation:
    """Mark the conversation as just used, optionally recording the provider and model it now uses."""
    with db.session() as s:
        conv = _get(s, Conversation, conversation_id)
        conv.updated_at = utcnow()
        if provider is not None:
            conv.provider = provider
        if model is not None:
            conv.model = model
    return conv


def delete_conversation(db: Database, conversation_id: str) -> bool:
    """Delete the conversation with its messages, runs, steps and artifacts; False if it did not exist."""
    with db.session() as s:
        conv = s.get(Conversation, conversation_id)
        if conv is None:
            return False
        s.delete(conv)
    return True


# ---- messages ------------------------------------------------------------------------------------------


def _message_row(conversation_id: str, run_id: str | None, seq: int, msg: Mapping[str, Any]) -> Message:
    if not isinstance(msg, Mapping) or not isinstance(msg.get("role"), str):
        raise ValueError(f"not an OpenAI-format message (a dict with a 'role'): {msg!r:.200}")
    extra = {k: v for k, v in msg.items() if k not in ("role", "content", *_MESSAGE_COLUMNS)}
    content = msg.get("content")
    if content is not None and not isinstance(content, str):
        # List-form content (text and image parts) is kept whole in extra; the column gets its text for search.
        extra["content"] = content
        content = "\n".join(p.get("text", "") for p in content if isinstance(p, Mapping) and p.get("text"))
    return Message(
        conversation_id=conversation_id,
        run_id=run_id,
        seq=seq,
        role=msg["role"],
        content=content,
        extra=extra or None,
        **{k: msg.get(k) for k in _MESSAGE_COLUMNS},
    )


def to_openai(row: Message) -> dict[str, Any]:
    """The OpenAI-format dict a Message row was made from (content always present, None when absent)."""
    out: dict[str, Any] = {"role": row.role, "content": row.content}
    for key in _MESSAGE_COLUMNS:
        value = getattr(row, key)
        if value is not None:
            out[key] = value
    out.update(row.extra or {})
    return out


def append_messages(
    db: Database, conversation_id: str, run_id: str | None, messages: Iterable[Mapping[str, Any]]
) -> list[Message]:
    """Store OpenAI-format messages after the conversation's last one; returns the new rows in order."""
    with db.session() as s:
        conv = _get(s, Conversation, conversation_id, lock=True)
        last = s.exec(select(func.max(Message.seq)).where(Message.conversation_id == conversation_id)).one()
        start = -1 if last is None else last
        rows = [_message_row(conversation_id, run_id, start + 1 + i, m) for i, m in enumerate(messages)]
        s.add_all(rows)
        conv.updated_at = utcnow()
        s.flush()  # assigns ids while the rows are still attached
    return rows


def get_messages(db: Database, conversation_id: str) -> list[Message]:
    """The conversation's messages in order."""
    with db.session(write=False) as s:
        query = select(Message).where(Message.conversation_id == conversation_id).order_by(col(Message.seq))
        return list(s.exec(query))


def messages_as_openai(db: Database, conversation_id: str) -> list[dict[str, Any]]:
    """The conversation as the list of OpenAI-format dicts the planner sends to the model."""
    return [to_openai(m) for m in get_messages(db, conversation_id)]


# ---- runs ----------------------------------------------------------------------------------------------


def create_run(
    db: Database,
    conversation_id: str,
    provider: str = "",
    model: str = "",
    *,
    run_id: str | None = None,
    meta: dict[str, Any] | None = None,
    skills_used: list[str] | None = None,
) -> Run:
    """A new run in status 'running'."""
    with db.session() as s:
        _get(s, Conversation, conversation_id)
        run = Run(conversation_id=conversation_id, provider=provider, model=model, meta=meta or {})
        run.skills_used = skills_used
        if run_id:
            run.id = run_id
        s.add(run)
    return run


def get_run(db: Database, run_id: str) -> Run | None:
    """The run, or None."""
    with db.session(write=False) as s:
        return s.get(Run, run_id)


_RUN_FIXED = {"id", "conversation_id", "started_at"}


def update_run(db: Database, run_id: str, **fields: Any) -> Run:
    """Set the given columns of a run (e.g. steps, prompt_tokens, meta); unknown names raise ValueError."""
    unknown = set(fields) - (set(Run.model_fields) - _RUN_FIXED)
    if unknown:
        raise ValueError(f"cannot set {sorted(unknown)} on a run")
    if "status" in fields and fields["status"] not in RUN_STATUSES:
        raise ValueError(f"run status must be one of {RUN_STATUSES}, not {fields['status']!r}")
    with db.session() as s:
        run = _get(s, Run, run_id, lock=True)
        for key, value in fields.items():
            setattr(run, key, value)
    return run


def _check_final_status(status: str) -> None:
    """Refuse a status a finished run cannot have ('running' or unknown)."""
    if status == "running" or status not in RUN_STATUSES:
        raise ValueError(f"a finished run's status is one of {RUN_STATUSES[1:]}, not {status!r}")


def finish_run(
    db: Database,
    run_id: str,
    status: str,
    error: str | None = None,
    *,
    steps: int | None = None,
    prompt_tokens: int | None = None,
    completion_tokens: int | None = None,
    cached_tokens: int | None = None,
    cost_usd: float | None = None,
) -> Run:
    """End a run with a final status; totals given here replace the stored ones."""
    _check_final_status(status)
    totals = {
        "steps": steps,
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "cached_tokens": cached_tokens,
        "cost_usd": cost_usd,
    }
    given = {k: v for k, v in totals.items() if v is not None}
    return update_run(db, run_id, status=status, error=error, finished_at=utcnow(), **given)


def list_runs(db: Database, conversation_id: str) -> list[Run]:
    """The conversation's runs, oldest first."""
    with db.session(write=False) as s:
        query = select(Run).where(Run.conversation_id == conversation_id).order_by(col(Run.started_at), col(Run.id))
        return list(s.exec(query))


def unfinished_runs(db: Database) -> list[Run]:
    """Runs still 'running' (after a crash) or 'waiting' for an approval: candidates to resume, oldest first."""
    with db.session(write=False) as s:
        query = select(Run).where(col(Run.status).in_(("running", "waiting"))).order_by(col(Run.started_at))
        # A sub-agent's run is not resumed on its own: its parent's resume re-runs it (agents/workflows/swarm).
        return [r for r in s.exec(query) if not (r.meta or {}).get("subagent_of")]


# ---- steps ---------------------------------------------------------------------------------------------


def add_step(
    db: Database,
    run_id: str,
    kind: str,
    name: str,
    *,
    call_id: str | None = None,
    args: dict[str, Any] | None = None,
    result_preview: str | None = None,
    message: dict[str, Any] | None = None,
    artifact_id: str | None = None,
    prompt_tokens: int = 0,
    completion_tokens: int = 0,
    cached_tokens: int = 0,
    cost_usd: float = 0.0,
    duration_s: float = 0.0,
    error: str | None = None,
) -> Step:
    """Record a step at the end of the run; a call_id already recorded returns that step unchanged."""
    if kind not in STEP_KINDS:
        raise ValueError(f"step kind must be one of {STEP_KINDS}, not {kind!r}")
    values = {
        "run_id": run_id, "kind": kind, "name": name, "call_id": call_id, "args": args,
        "result_preview": result_preview, "message": message, "artifact_id": artifact_id, "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens, "cached_tokens": cached_tokens, "cost_usd": cost_usd,
        "duration_s": duration_s, "error": error, "created_at": utcnow(),
    }
    # The planner's hot path (two per step): one prebuilt INSERT ... RETURNING on a Core connection (an ORM session
    # or building the statement each time costs more than the insert itself).
    with db.write_connection() as conn:
        row = conn.execute(_step_insert(db.dialect), values).first()
        if row is None:
            row = conn.execute(select(Step.__table__).where(Step.run_id == run_id, Step.call_id == call_id)).one()
    return Step(**row._mapping)


_STEP_INSERTS: dict[str, Any] = {}


def _step_insert(dialect: str) -> Any:
    """INSERT of one step with seq computed in SQL; a repeated (run_id, call_id) is a no-op (the unique index)."""
    if dialect not in _STEP_INSERTS:
        table = Step.__table__
        columns = [c.name for c in table.c if c.name not in ("id", "seq")]
        next_seq = (
            select(func.coalesce(func.max(table.c.seq), -1) + 1).where(table.c.run_id == bindparam("run_id"))
        ).scalar_subquery()
        insert = sqlite_insert if dialect == "sqlite" else pg_insert
        _STEP_INSERTS[dialect] = (
            insert(table)
            .values(seq=next_seq, **{c: bindparam(c) for c in columns})
            .on_conflict_do_nothing(index_elements=["run_id", "call_id"])
            .returning(*table.c)
        )
    return _STEP_INSERTS[dialect]


def get_step(db: Database, run_id: str, call_id: str) -> Step | None:
    """The step recorded for a tool call, or None (then the call has not run yet)."""
    with db.session(write=False) as s:
        return s.exec(select(Step).where(Step.run_id == run_id, Step.call_id == call_id)).first()


def steps_for_run(db: Database, run_id: str) -> list[Step]:
    """The run's steps in order."""
    with db.session(write=False) as s:
        return list(s.exec(select(Step).where(Step.run_id == run_id).order_by(col(Step.seq))))


# ---- artifacts -----------------------------------------------------------------------------------------


def save_artifact(
    db: Database,
    data: bytes | str,
    *,
    name: str,
    mime: str | None = None,
    kind: str = "tool_result",
    conversation_id: str | None = None,
    run_id: str | None = None,
) -> Artifact:
    """Store a blob (text is stored as UTF-8) with its size and sha256."""
    if isinstance(data, str):
        raw, mime = data.encode("utf-8"), mime or "text/plain; charset=utf-8"
    else:
        raw, mime = bytes(data), mime or "application/octet-stream"
    art = Artifact(
        conversation_id=conversation_id,
        run_id=run_id,
        kind=kind,
        name=name,
        mime=mime,
        size=len(raw),
        sha256=hashlib.sha256(raw).hexdigest(),
        data=raw,
    )
    with db.session() as s:
        s.add(art)
    return art


def get_artifact(db: Database, artifact_id: str) -> Artifact | None:
    """The artifact with its data, or None."""
    with db.session(write=False) as s:
        return s.get(Artifact, artifact_id)


# ---- settings ------------------------------------------------------------------------------------------

# Names that hold credentials. 'token' alone is too broad (max_tokens is a budget), so only token-ish compounds.
_SECRET_NAME = re.compile(
    r"api[\W_]?key|secret|passw(or)?d|credential|private[\W_]?key|authori[sz]ation|bearer|cookie"
    r"|(access|auth|api|refresh|session|bot|hf|github|gh)[\W_]?token|(^|[\W_])token$",
    re.IGNORECASE,
)
# Values shaped like provider keys (OpenAI/Moonshot sk-, Groq gsk_, Hugging Face hf_, GitHub ghp_...).
_SECRET_VALUE = re.compile(r"^(sk-|gsk_|hf_|ghp_|gho_|github_pat_|xai-|Bearer\s)[\w\-.]{12,}")


def _check_not_secret(key: str, value: Any, path: str) -> None:
    if _SECRET_NAME.search(key):
        raise SecretRefused(f"refusing to store {path!r} in the database: put keys in the environment or .env")
    if isinstance(value, str) and _SECRET_VALUE.match(value.strip()):
        raise SecretRefused(f"{path!r} looks like an API key: put keys in the environment or .env")
    if isinstance(value, Mapping):
        for k, v in value.items():
            _check_not_secret(str(k), v, f"{path}.{k}")
    elif isinstance(value, list | tuple):
        for i, v in enumerate(value):
            _check_not_secret("", v, f"{path}[{i}]")


def set_setting(db: Database, key: str, value: Any) -> None:
    """Store a JSON value under `key`; raises SecretRefused for anything that looks like a credential."""
    _check_not_secret(key, value, key)
    with db.session() as s:
        row = s.get(Setting, key, with_for_update=True)
        if row is None:
            s.add(Setting(key=key, value=value))
        else:
            row.value, row.updated_at = value, utcnow()


def get_setting(db: Database, key: str, default: Any = None) -> Any:
    """The stored JSON value for `key`, or `default`."""
    with db.session(write=False) as s:
        row = s.get(Setting, key)
        return default if row is None else row.value
