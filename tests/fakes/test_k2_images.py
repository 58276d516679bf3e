"""The fake K2 server with images (issue 21): it decodes image parts as a vision provider does, refuses what a
provider refuses, records what it saw, and lets a responder answer from the image."""

from __future__ import annotations

import base64
import io

import httpx
from PIL import Image

from tests.fakes.k2_images import images_in
from tests.fakes.k2_server import FakeK2Server, Turn


def _url(color: tuple[int, int, int], size: tuple[int, int] = (56, 28)) -> str:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, "PNG")
    return "data:image/png;base64," + base64.b64encode(out.getvalue()).decode()


def _post(server: FakeK2Server, model: str, messages: list[dict]) -> httpx.Response:
    return httpx.post(f"{server.url}/chat/completions", json={"model": model, "messages": messages}, timeout=10)


def _image_message(url: str, role: str = "user") -> dict:
    return {"role": role, "content": [{"type": "text", "text": "look"}, {"type": "image_url", "image_url": {"url": url}}]}


def test_a_responder_answers_from_the_image_it_was_shown(k2_server: FakeK2Server):
    k2_server.responder = lambda body: Turn(content="red" if images_in(body)[0].color[0] > 200 else "not red")
    done = _post(k2_server, "kimi-k2.5", [_image_message(_url((250, 10, 10)))])
    assert done.status_code == 200 and done.json()["choices"][0]["message"]["content"] == "red"
    (seen,) = k2_server.images[0]
    assert (seen.format, seen.width, seen.height, seen.tokens) == ("PNG", 56, 28, 2 + 6)
    # Images count by their size, not by the length of their base64 text.
    assert done.json()["usage"]["prompt_tokens"] < 100


def test_what_a_provider_refuses_is_a_400(k2_server: FakeK2Server):
    not_an_image = "data:image/png;base64," + base64.b64encode(b"<html>hello</html>").decode()
    assert _post(k2_server, "kimi-k2.5", [_image_message(not_an_image)]).status_code == 400
    assert _post(k2_server, "kimi-k2.5", [_image_message("https://example.org/a.png")]).status_code == 400
    text_model = _post(k2_server, "kimi-k2-0905-preview", [_image_message(_url((0, 0, 0)))])
    assert text_model.status_code == 400 and "does not support image input" in text_model.text
    in_tool = [{"role": "user", "content": "hi"},
               {"role": "assistant", "content": "", "tool_calls": [
                   {"id": "functions.x:0", "type": "function", "function": {"name": "x", "arguments": "{}"}}]},
               {**_image_message(_url((0, 0, 0)), role="tool"), "tool_call_id": "functions.x:0"}]
    refused = _post(k2_server, "kimi-k2.5", in_tool)
    assert refused.status_code == 400 and "only allowed in user messages" in refused.text
    assert not k2_server.images
