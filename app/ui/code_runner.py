"""▶ Run in sandbox: a button on every code block of an answer (any model) that runs the block in the sandbox server
and shows the result as a tool card under it.

A small model often prints the program it was asked to run instead of calling the sandbox; this makes the run one
click away. The page script (JS, handed to Gradio as the page's js) adds the button to each `pre > code` of the
assistant's messages; a click puts the block's language and code into a hidden textbox and presses a hidden button,
whose handler calls the sandbox tool through the agent's hub, in the conversation's workspace, like the planner
would. The user pressed the button: that is the approval, as typing the code into the sandbox would be.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

import gradio as gr

from app.ui.backend import Backend, readable_error
from app.ui.render import finish_tool_card, status_html, tool_card

BUTTON_CLASS = "k2-run-code"
# Language of the fence -> (sandbox tool, its code argument). Blocks without a language are taken as Python.
TOOLS = {"python": ("sandbox__run_python", "code"), "py": ("sandbox__run_python", "code"),
         "": ("sandbox__run_python", "code"), "bash": ("sandbox__run_shell", "command"),
         "sh": ("sandbox__run_shell", "command"), "shell": ("sandbox__run_shell", "command"),
         "console": ("sandbox__run_shell", "command")}

JS = """
() => {
  const label = '▶ Run in sandbox';
  const decorate = () => {
    document.querySelectorAll('#k2-chat .message.bot pre > code, #k2-chat .bot pre > code').forEach((code) => {
      const pre = code.parentElement;
      if (pre.dataset.k2Run) return;
      const lang = ((code.className.match(/language-([\\w+-]+)/) || [])[1] || '').toLowerCase();
      if (!['', 'python', 'py', 'bash', 'sh', 'shell', 'console'].includes(lang)) return;
      pre.dataset.k2Run = '1';
      const button = document.createElement('button');
      button.type = 'button';
      button.className = '%(cls)s';
      button.textContent = label;
      button.addEventListener('click', (event) => {
        event.preventDefault(); event.stopPropagation();
        const box = document.querySelector('#k2-run-code-input textarea');
        const go = document.querySelector('#k2-run-code-go');
        if (!box || !go) return;
        box.value = JSON.stringify({lang: lang, code: code.innerText});
        box.dispatchEvent(new Event('input', {bubbles: true}));
        setTimeout(() => go.click(), 50);
      });
      pre.insertAdjacentElement('afterend', button);
    });
  };
  new MutationObserver(decorate).observe(document.body, {childList: true, subtree: true});
  decorate();
}
""" % {"cls": BUTTON_CLASS}


@dataclass
class CodeRunner:
    """The hidden components the page script drives."""

    request: gr.Textbox
    go: gr.Button


def build_code_runner() -> CodeRunner:
    """Hidden (CSS, not visible=False: the script must find them in the page) input and trigger."""
    request = gr.Textbox(elem_id="k2-run-code-input", show_label=False, container=False,
                         elem_classes=["k2-hidden"])
    go = gr.Button("run", elem_id="k2-run-code-go", elem_classes=["k2-hidden"])
    return CodeRunner(request, go)


def parse_request(raw: str) -> tuple[str, dict[str, Any]]:
    """(sandbox tool, its arguments) for the page script's {"lang", "code"}; ValueError when it cannot run."""
    data = json.loads(raw or "{}")
    code = str(data.get("code") or "")
    if not code.strip():
        raise ValueError("the code block is empty")
    tool, argument = TOOLS.get(str(data.get("lang") or "").lower(), (None, None))
    if tool is None or argument is None:
        raise ValueError(f"blocks in {data.get('lang')!r} do not run here (Python and shell do)")
    return tool, {argument: code}


def wire_code_runner(runner: CodeRunner, chatbot: gr.Chatbot, status: gr.HTML, conversation_id: gr.State,
                     backend: Backend) -> None:
    """Run the requested block and append its tool card to the chat."""

    async def run(raw: str, history: list[Any], conversation: str | None) -> Any:
        history = list(history or [])
        try:
            name, args = parse_request(raw)
        except ValueError as exc:
            yield history, status_html(f"■ not run: {exc}"), ""
            return
        card = tool_card(f"run-{time.time_ns()}", name, args)
        history.append(card)
        yield history, status_html(f"● running {name}…"), ""
        started = time.monotonic()
        try:
            agent = await backend.agent()
            result = await agent.hub.call(name, args, meta={"k2hub/conversation": conversation or ""})
            error = result.text if result.is_error else None
            finish_tool_card(card, args, result.text, time.monotonic() - started, error)
        except Exception as exc:  # shown on the card: the chat keeps working
            finish_tool_card(card, args, "", time.monotonic() - started, readable_error(exc))
        history[-1] = card
        yield history, status_html(f"✓ ran {name} (▶ Run in sandbox)"), ""

    runner.go.click(run, [runner.request, chatbot, conversation_id], [chatbot, status, runner.request])
