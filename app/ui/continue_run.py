"""Continue after Stop: a stopped run's partial answer (kept and sent as history, agents/planner/partial.py) is
resumed by a new run whose prompt is the app's own request to go on, shown as the step it is (RunRequest.label).

Live, the continuation is written into the partial answer's bubble, so the reply reads as one text; a reopened
conversation shows the partial, the stop, "Continued", then the rest (what was stored, in order).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

import gradio as gr

from app.ui.backend import Backend
from app.ui.render import status_html
from app.ui.sidebar import AUTO, wants_base_url
from app.ui.stream import stream_run

if TYPE_CHECKING:
    from app.ui.chat import Chat
    from app.ui.sidebar import Sidebar

log = logging.getLogger(__name__)

# Said to the model as a user turn right after its own partial answer: the history already holds the text.
CONTINUE_PROMPT = ("[K2 Agent Hub] The user stopped your previous answer before it was finished and now asks you to "
                   "continue it. Continue exactly where it stopped, without repeating what you already wrote and "
                   "without starting over.")
LABEL = "▶ Continued the stopped answer"


def can_continue(db: Any, conversation_id: str | None) -> bool:
    """True when the conversation's last run was stopped and left a partial answer to continue."""
    if not conversation_id:
        return False
    from storage import repo

    runs = repo.list_runs(db, conversation_id)
    if not runs or runs[-1].status != "stopped":
        return False
    last = runs[-1].id
    own = [m for m in repo.get_messages(db, conversation_id) if m.run_id == last]
    return bool(own) and own[-1].role == "assistant" and bool((own[-1].extra or {}).get("_partial"))


def _text(content: Any) -> str:
    """A chat message's text, whether Gradio hands a string or a list of content parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(str(p.get("text", "")) if isinstance(p, dict) else _text(p) for p in content)
    if isinstance(content, dict):
        return str(content.get("text") or "")
    return str(content or "")


def _field(message: Any, name: str) -> Any:
    return message.get(name) if isinstance(message, dict) else getattr(message, name, None)


def _is_answer(message: Any) -> bool:
    """A plain assistant answer bubble: no thinking/tool card title, not one of our notices."""
    title = (_field(message, "metadata") or {}).get("title")
    return _field(message, "role") == "assistant" and not title and "k2-notice" not in _text(_field(message, "content"))


def split_partial(history: list[Any]) -> tuple[list[Any], int | None]:
    """(history without the trailing stop notice, index of the partial answer), None when there is none."""
    shown = list(history or [])
    while shown and _field(shown[-1], "role") == "assistant" and "k2-notice" in _text(_field(shown[-1], "content")):
        shown.pop()  # "Stopped by the user." is no longer the end of this reply
    for index in range(len(shown) - 1, -1, -1):
        if _field(shown[index], "role") == "user":
            break
        if _is_answer(shown[index]):
            return shown, index
    return shown, None


def glued(before: str, after: str) -> str:
    """The partial text and its continuation as one text: a stored partial lost its trailing space, and a model
    going on usually starts a new word, so a space goes between two words that would otherwise touch."""
    if before and after and not before[-1].isspace() and before[-1] != "-" and after[0].isalnum():
        return f"{before} {after}"
    return before + after


def joined(base: list[Any], partial: int | None, messages: list[Any]) -> list[Any]:
    """The chat while the continuation streams: its first answer text grows the partial bubble; the rest follows."""
    if partial is None:
        return [*base, *messages]
    first = next((i for i, m in enumerate(messages) if _is_answer(m)), None)
    if first is None:
        return [*base, *messages]
    grown = gr.ChatMessage(role="assistant", content=glued(_text(_field(base[partial], "content")),
                                                           _text(messages[first].content)))
    return [*base[:partial], grown, *base[partial + 1:], *messages[:first], *messages[first + 1:]]


def wire_continue(chat: Chat, sb: Sidebar, backend: Backend, button: gr.Button, ended: list[Any]) -> None:
    """The Continue button: shown after a stopped run that left a partial answer (`ended`: events after which a run
    may have stopped, a conversation was opened or a new chat started), and the continuation run."""

    async def visible(conversation_id: str | None) -> Any:
        agent = backend.opened
        if agent is None:
            return gr.update(visible=False)
        return gr.update(visible=await asyncio.to_thread(can_continue, agent.db, conversation_id))

    for event in ended:
        event.then(visible, chat.conversation_id, button, queue=False, show_progress="hidden")
    # A link (?c=) or a branch opened elsewhere sets the conversation too.
    chat.conversation_id.change(visible, chat.conversation_id, button, queue=False, show_progress="hidden")

    async def go(history: list[Any], conversation_id: str | None, provider: str, model: str | None, base_url: str,
                 request: gr.Request) -> AsyncIterator[dict[Any, Any]]:
        agent = await backend.agent()
        if not await asyncio.to_thread(can_continue, agent.db, conversation_id):
            yield {button: gr.update(visible=False), chat.status: status_html("Nothing to continue: the last run was "
                                                                             "not stopped mid-answer.")}
            return
        from agents.planner.runner import RunRequest

        session = request.session_hash or ""
        backend.stop_requested.discard(session)
        base, partial = split_partial(history)
        yield {button: gr.update(visible=False), chat.chatbot: base, chat.status: status_html("● continuing…"),
               chat.send: gr.update(visible=False), chat.stop: gr.update(visible=True, interactive=True)}
        auto = provider == AUTO
        req = RunRequest(prompt=CONTINUE_PROMPT, label=LABEL, conversation_id=conversation_id,
                         provider=None if auto else provider, model=None if auto else (model or None),
                         base_url=(base_url or None) if wants_base_url(provider) else None)
        async for view, event in stream_run(backend, session, lambda a: a.run(req), failure="Could not continue."):
            frame = {chat.chatbot: joined(base, partial, view.messages), chat.status: status_html(view.status,
                                                                                                view.gauge)}
            if event is None:
                frame.update({chat.send: gr.update(visible=True), chat.stop: gr.update(visible=False),
                              button: gr.update(visible=await asyncio.to_thread(can_continue, agent.db,
                                                                                conversation_id))})
            yield frame

    button.click(go, [chat.chatbot, chat.conversation_id, sb.provider, sb.model, sb.base_url],
                 [button, chat.chatbot, chat.status, chat.send, chat.stop], concurrency_limit=None,
                 show_progress="hidden")
