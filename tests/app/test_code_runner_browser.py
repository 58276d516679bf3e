"""▶ Run in sandbox: headless Chromium clicks the button under an answer's code block; the block runs in the sandbox
server and its output comes back as a tool card (the real app in a subprocess, the fake K2 server as the model)."""

from __future__ import annotations

import pytest

from app.ui.code_runner import parse_request
from tests.app.ui_support import chromium_page, requires_chromium
from tests.fakes.k2_server import FakeK2Server, Turn

ANSWER = "Here is the program:\n\n```python\nprint('product', 6 * 7)\n```\n\nRun it to see the result."


@pytest.mark.slow
@requires_chromium
def test_the_run_in_sandbox_button_runs_a_code_block(fake_k2: FakeK2Server, app_url: str) -> None:
    from playwright.sync_api import expect

    fake_k2.enqueue(Turn(content=ANSWER))
    with chromium_page(app_url) as page:
        chat = page.locator("#k2-chat")
        expect(page.get_by_text("Ask Kimi K2 anything")).to_be_visible(timeout=60_000)
        page.locator("#k2-prompt textarea").fill("Show me a Python program that multiplies 6 by 7")
        page.locator("#k2-send").click()
        expect(chat.get_by_text("Run it to see the result.")).to_be_visible(timeout=90_000)
        expect(page.locator("#k2-send")).to_be_visible(timeout=30_000)
        button = chat.locator("button.k2-run-code")
        expect(button).to_have_count(1, timeout=10_000)
        assert "product 42" not in chat.inner_text()  # only the sandbox can print it
        button.click()
        card = chat.get_by_text("sandbox__run_python")
        expect(card).to_be_visible(timeout=60_000)
        expect(page.locator("#k2-status")).to_contain_text("ran sandbox__run_python", timeout=60_000)
        card.click()  # the card opens on click and shows the program's output
        expect(chat.get_by_text("product 42").first).to_be_visible(timeout=10_000)


def test_only_python_and_shell_blocks_run():
    assert parse_request('{"lang": "python", "code": "print(1)"}') == ("sandbox__run_python", {"code": "print(1)"})
    assert parse_request('{"lang": "bash", "code": "ls"}') == ("sandbox__run_shell", {"command": "ls"})
    for bad in ('{"lang": "rust", "code": "fn main() {}"}', '{"lang": "python", "code": "  "}'):
        with pytest.raises(ValueError):
            parse_request(bad)
