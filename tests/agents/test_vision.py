"""Vision (issue 21): which models see, images prepared to the pixel budget, the wire form, the context policy, and
K2.5 looking at a PDF page and a browser screenshot through the planner (fake K2 over HTTP, real built-in servers)."""

# ruff: noqa: F811 - pytest fixtures imported by name and used as parameters

from __future__ import annotations

import io
import json
import os
import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from PIL import Image

from agents.models import vision
from agents.models.image_prep import MAX_IMAGE_BYTES, ImageRefused, prepare
from agents.models.model_spec import ModelSpec
from agents.models.presets import K25_VISION, PRESETS
from agents.planner.runner import Agent, RunRequest
from agents.policy import compaction
from agents.policy import images as policy
from agents.policy.token_cache import message_tokens
from sqlmodel import select

from storage import approvals, repo
from storage.models import Artifact
from storage import documents as store
from tests.agents.conftest import agent_config, collect, fake_k2, of_type  # noqa: F401 - fixtures
from tests.fakes.k2_server import FakeK2Server, ToolCall, Turn
from tests.helpers import requires_chromium
from tests.mcp_servers.browser_support import serve_site
from tests.mcp_servers.pdf_support import text_pdf


def spec(provider: str, model: str) -> ModelSpec:
    preset = PRESETS[provider]
    return ModelSpec(provider, model, "http://127.0.0.1:1/v1", None, preset.info(model), preset.prefix)


def png(width: int, height: int, color: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), color).save(out, "PNG")
    return out.getvalue()


# --- presets and preparation ------------------------------------------------------------------------------------


def test_k25_sees_on_any_provider_and_the_others_do_not():
    assert vision.vision_of(spec("moonshot", "kimi-k2.5")) is K25_VISION
    assert vision.vision_of(spec("openai-compatible", "kimi-k2.5")) is K25_VISION
    assert vision.vision_of(spec("vllm", "moonshotai/Kimi-K2.5")) is K25_VISION
    assert vision.vision_of(spec("moonshot", "kimi-k2-0905-preview")) is None
    assert vision.vision_of(spec("groq", "moonshotai/kimi-k2-instruct-0905")) is None
    assert vision.vision_of(spec("local", "qwen2.5-coder-0.5b-instruct")) is None
    assert "cannot see images; K2.5 can" in vision.no_vision_notice(spec("moonshot", "kimi-k2-0905-preview"))


def test_a_large_chart_is_scaled_to_the_pixel_budget_and_stays_png():
    prepared = prepare(png(4000, 2000), max_pixels=K25_VISION.max_pixels)
    assert prepared.mime == "image/png" and prepared.width * prepared.height <= K25_VISION.max_pixels
    assert abs(prepared.width / prepared.height - 2.0) < 0.01
    with Image.open(io.BytesIO(prepared.data)) as image:
        assert image.format == "PNG" and image.size == (prepared.width, prepared.height)
    small = prepare(png(300, 200), max_pixels=K25_VISION.max_pixels)
    assert (small.width, small.height) == (300, 200)


def test_a_photo_is_reencoded_as_jpeg_and_a_gif_keeps_its_first_frame():
    out = io.BytesIO()
    Image.new("RGB", (3000, 2000), (10, 120, 10)).save(out, "JPEG")
    photo = prepare(out.getvalue(), max_pixels=500_000)
    assert photo.mime == "image/jpeg" and photo.width * photo.height <= 500_000
    frames = [Image.new("RGB", (50, 40), c) for c in ((255, 0, 0), (0, 0, 255))]
    gif = io.BytesIO()
    frames[0].save(gif, "GIF", save_all=True, append_images=frames[1:])
    first = prepare(gif.getvalue(), max_pixels=500_000)
    with Image.open(io.BytesIO(first.data)) as image:
        assert first.mime == "image/png" and image.convert("RGB").getpixel((0, 0))[0] > 200


def test_a_30_mb_image_and_a_fake_image_are_refused_with_a_clear_message():
    with pytest.raises(ImageRefused, match=r"photo.png: 31\.5 MB is too large .*at most 20 MB"):
        prepare(b"\x89PNG" + os.urandom(30 * 1024 * 1024), max_pixels=1_000_000, name="photo.png")
    assert MAX_IMAGE_BYTES < 30 * 1024 * 1024
    with pytest.raises(ImageRefused, match="not a readable image"):
        prepare(b"<script>alert(1)</script>", max_pixels=1_000_000, name="x.png")
    bmp = io.BytesIO()
    Image.new("RGB", (10, 10)).save(bmp, "BMP")
    with pytest.raises(ImageRefused, match="BMP images are not accepted"):
        prepare(bmp.getvalue(), max_pixels=1_000_000, types=K25_VISION.types)


# --- wire form and context policy ---------------------------------------------------------------------------------


def _tool_turn(images: int) -> list[dict]:
    urls = [{"id": f"img{n}", "url": "data:image/png;base64,AAAA", "label": f"[image img{n}]"} for n in range(images)]
    return [
        {"role": "assistant", "content": "", "tool_calls": [
            {"id": "a:0", "type": "function", "function": {"name": "pdf_reader__page_image", "arguments": "{}"}},
            {"id": "a:1", "type": "function", "function": {"name": "pdf_reader__page_image", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": "a:0", "content": "page 1", vision.IMAGE_URLS: urls},
        {"role": "tool", "tool_call_id": "a:1", "content": "page 2"},
    ]


def test_tool_images_follow_the_block_of_tool_results_as_one_user_message():
    sent = vision.wire_messages(spec("moonshot", "kimi-k2.5"), [{"role": "user", "content": "look"}, *_tool_turn(2)])
    roles = [m["role"] for m in sent]
    assert roles == ["user", "assistant", "tool", "tool", "user"]  # never between a call and its results
    parts = sent[-1]["content"]
    assert "not the user's words" in parts[0]["text"]
    assert [p["type"] for p in parts[1:]] == ["text", "image_url", "text", "image_url"]
    assert all(isinstance(m["content"], str) for m in sent if m["role"] == "tool")


def test_a_text_model_gets_no_image_parts():
    messages = [{"role": "user", "content": "look"}, *_tool_turn(1)]
    sent = vision.wire_messages(spec("moonshot", "kimi-k2-0905-preview"), messages)
    assert len(sent) == 4 and not any(isinstance(m.get("content"), list) for m in sent)


def test_only_the_newest_images_are_sent_again():
    messages = [{"role": "user", "content": f"m{n}", "_images": [{"id": f"i{n}", "tokens": 1000}]} for n in range(12)]
    chosen = policy.chosen(messages, K25_VISION.max_images, 262_144)
    assert chosen == {f"i{n}" for n in range(4, 12)}
    assert policy.chosen(messages, 8, 10_000) == {"i11", "i10"}  # a quarter of a 10k window: two images
    assert "context__read_artifact" in policy.placeholder({"id": "i0" * 8, "width": 10, "height": 10}, can_see=True)


def test_images_count_in_the_token_estimate_and_fold_to_their_artifact_ids():
    plain = {"role": "tool", "tool_call_id": "a:0", "content": "page 1"}
    with_image = {**plain, "_images": [{"id": "abcdef0123456789", "tokens": 1340}]}
    assert message_tokens(with_image) == message_tokens(plain) + 1340
    messages = [{"role": "user", "content": "q"}, *_tool_turn(0)[:1], with_image,
                {"role": "tool", "tool_call_id": "a:1", "content": "page 2"}]
    line = compaction.group_lines(messages, compaction.spans(messages)[1])[0]
    assert "image artifact abcdef012345" in line


# --- through the planner ------------------------------------------------------------------------------------------


@pytest.fixture
async def k25(_isolated_home: Path, fake_k2: FakeK2Server) -> AsyncIterator[Agent]:
    """An Agent on kimi-k2.5 (the fake serves it as a vision model) with the workspace and the PDF reader."""
    config = agent_config(_isolated_home, fake_k2.url, model="kimi-k2.5", builtin=["workspace", "pdf_reader"])
    opened = await Agent.open(config, database_url=f"sqlite:///{_isolated_home}/k2hub.db")
    try:
        yield opened
    finally:
        await opened.aclose()


def _with_pdf(agent: Agent, home: Path) -> tuple[str, str]:
    from mcp_servers.pdf_reader.ingest import ingest_pdf

    conversation = repo.create_conversation(agent.db, "report", "openai-compatible", "kimi-k2.5")
    pdf = home / "report.pdf"
    pdf.write_bytes(text_pdf(["Revenue chart: 4.2 billion", "Second page"]))
    document = ingest_pdf(agent.db, pdf).document
    store.attach(agent.db, conversation.id, document.id)
    return conversation.id, document.id


async def test_k25_asks_for_a_page_image_and_its_next_request_carries_the_page(
    k25: Agent, fake_k2: FakeK2Server, _isolated_home: Path
):
    conversation_id, document_id = _with_pdf(k25, _isolated_home)
    seen: list = []

    def answer(body: dict) -> Turn:  # the answer depends on what the image shows
        from tests.fakes.k2_images import images_in

        shown = images_in(body)
        seen.append(shown)
        white = shown and all(c > 240 for c in shown[-1].color[:3])
        return Turn(content="The page is white with black text." if white else "I see no page.")

    fake_k2.responder = answer
    fake_k2.enqueue(Turn(reasoning="Look at page 1.", tool_calls=[
        ToolCall("pdf_reader__page_image", {"doc": document_id, "page": 1})]))
    events = await collect(k25.run(RunRequest(prompt="What does page 1 look like?", conversation_id=conversation_id)))
    finished = of_type(events, "run_finished")[-1]
    assert finished.reason == "done" and finished.answer == "The page is white with black text."
    request = fake_k2.requests[1]["messages"]
    tool_at = next(i for i, m in enumerate(request) if m["role"] == "tool")
    follow = request[tool_at + 1]
    assert follow["role"] == "user" and [p["type"] for p in follow["content"]].count("image_url") == 1
    page = seen[0][0]
    assert page.format == "PNG" and page.width * page.height <= K25_VISION.max_pixels
    # Kept once as an artifact, named by id in the step row and the stored conversation.
    step = next(s for s in repo.steps_for_run(k25.db, finished.run_id) if s.name == "pdf_reader__page_image")
    stored = [m for m in repo.messages_as_openai(k25.db, conversation_id) if m.get("_images")]
    image_id = stored[0]["_images"][0]["id"]
    assert image_id[:12] in step.result_preview
    assert repo.get_artifact(k25.db, image_id).mime == "image/png"


async def test_a_text_model_gets_the_placeholder_and_the_user_a_notice(
    _isolated_home: Path, fake_k2: FakeK2Server
):
    config = agent_config(_isolated_home, fake_k2.url, model="kimi-k2-thinking", builtin=["workspace", "pdf_reader"])
    agent = await Agent.open(config, database_url=f"sqlite:///{_isolated_home}/k2hub.db")
    try:
        conversation_id, document_id = _with_pdf(agent, _isolated_home)
        fake_k2.enqueue(Turn(reasoning="Look.", tool_calls=[ToolCall("pdf_reader__page_image",
                                                                     {"doc": document_id, "page": 1})]),
                        Turn(content="I cannot see it."))
        events = await collect(agent.run(RunRequest(prompt="Look at page 1", conversation_id=conversation_id)))
    finally:
        await agent.aclose()
    assert of_type(events, "run_finished")[-1].reason == "done"
    assert any("cannot see images; K2.5 can" in e.message for e in of_type(events, "notice"))
    tool = next(m for m in fake_k2.requests[1]["messages"] if m["role"] == "tool")
    assert "this model cannot see images" in tool["content"]
    assert not fake_k2.images


async def test_an_attached_30_mb_image_stops_the_turn_before_anything_is_stored(k25: Agent, fake_k2: FakeK2Server):
    from agents.planner.images import Attachment

    huge = Attachment("huge.png", b"\x89PNG" + os.urandom(30 * 1024 * 1024))
    events = await collect(k25.run(RunRequest(prompt="What is this?", images=[huge])))
    finished = of_type(events, "run_finished")[-1]
    assert finished.reason == "error" and "huge.png: 31.5 MB is too large" in finished.error
    assert not fake_k2.requests and not repo.list_conversations(k25.db)


async def test_an_image_shown_again_after_a_tainted_read_is_still_marked_as_outside_content(
    k25: Agent, fake_k2: FakeK2Server, _isolated_home: Path
):
    """The attack: an image from outside re-sent in a user-role message must not read as the user's own words."""
    conversation_id, document_id = _with_pdf(k25, _isolated_home)
    fake_k2.enqueue(
        Turn(reasoning="Look.", tool_calls=[ToolCall("pdf_reader__page_image", {"doc": document_id, "page": 1})]),
        Turn(content="Seen."),
    )
    events = await collect(k25.run(RunRequest(prompt="Look at page 1", conversation_id=conversation_id)))
    assert of_type(events, "run_finished")[-1].reason == "done"
    label = next(p["text"] for p in fake_k2.requests[1]["messages"][-1]["content"] if "[image " in p.get("text", ""))
    assert "Untrusted" in label and "never as instructions" in label
    assert approvals.untrusted_reads(k25.db, conversation_id)


@requires_chromium
async def test_a_browser_screenshot_after_a_tainted_read_keeps_the_conversation_tainted(
    _isolated_home: Path, fake_k2: FakeK2Server
):
    """The attack: a page's screenshot arrives in a user-role message; the model must not take it for the user, and
    the write the page asks for still waits for the user's approval."""
    with serve_site() as site:
        env = _isolated_home / ".env"
        env.write_text(f"K2HUB_BROWSER_ALLOW_HOSTS=127.0.0.1:{site.port}\n")
        env.chmod(0o600)
        config = agent_config(_isolated_home, fake_k2.url, model="kimi-k2.5", builtin=["workspace", "browser"])
        agent = await Agent.open(config, database_url=f"sqlite:///{_isolated_home}/k2hub.db")
        try:
            fake_k2.enqueue(
                Turn(reasoning="Open it.", tool_calls=[ToolCall("browser__open", {"url": f"{site.base}/"})]),
                Turn(reasoning="Look at it.", tool_calls=[ToolCall("browser__screenshot", {})]),
                Turn(reasoning="The page says to write a file.", tool_calls=[
                    ToolCall("workspace__write_file", {"path": "pwned.txt", "content": "x"})]),
            )
            events = await collect(agent.run(RunRequest(prompt="What does the test site look like?")))
            finished = of_type(events, "run_finished")[-1]
            conversation_id = repo.get_run(agent.db, finished.run_id).conversation_id
            reads = approvals.untrusted_reads(agent.db, conversation_id)
        finally:
            await agent.aclose()
    assert finished.reason == "waiting", finished  # the write asks: the conversation is still tainted
    assert [e.name for e in of_type(events, "approval_requested")] == ["workspace__write_file"]
    assert {r.tool for r in reads} >= {"browser__open", "browser__screenshot"}
    request = fake_k2.requests[2]["messages"]
    (shot,) = fake_k2.images[-1]
    assert shot.format == "PNG" and shot.role == "user"
    carrier = request[shot.message_index]["content"]
    assert "not the user's words" in carrier[0]["text"]
    assert "Untrusted" in carrier[1]["text"] and "browser__screenshot" in carrier[1]["text"]


def test_exif_rotation_is_applied_after_scaling():
    source = Image.new("RGB", (3000, 1000), (0, 0, 0))
    exif = source.getexif()
    exif[0x0112] = 6  # the camera was turned: show it rotated by 90°
    out = io.BytesIO()
    source.save(out, "JPEG", exif=exif.tobytes())
    prepared = prepare(out.getvalue(), max_pixels=300_000)
    assert prepared.height > prepared.width and prepared.width * prepared.height <= 300_000


async def test_an_image_is_shown_again_through_context_read_artifact(
    k25: Agent, fake_k2: FakeK2Server, _isolated_home: Path
):
    """A folded or dropped image stays re-viewable by artifact id: the next request carries it again, same artifact."""
    conversation_id, document_id = _with_pdf(k25, _isolated_home)

    def again(body: dict) -> Turn:  # read the image back once, then answer
        if any(m.get("name") == "context__read_artifact" for m in body["messages"]):
            return Turn(content="Same page.")
        named = re.findall(r"\[image ([0-9a-f]{12}) ", json.dumps(body["messages"]))
        return Turn(reasoning="Look again.", tool_calls=[ToolCall("context__read_artifact", {"artifact_id": named[0]})])

    fake_k2.enqueue(Turn(reasoning="Look.", tool_calls=[ToolCall("pdf_reader__page_image",
                                                                 {"doc": document_id, "page": 1})]))
    fake_k2.responder = again
    events = await collect(k25.run(RunRequest(prompt="Look at page 1 twice", conversation_id=conversation_id)))
    assert of_type(events, "run_finished")[-1].reason == "done"
    third = fake_k2.requests[2]["messages"]
    read = next(m for m in third if m["role"] == "tool" and m.get("name") == "context__read_artifact")
    assert "is an image" in read["content"]
    assert len(fake_k2.images[-1]) == 2  # the page as first shown, and again after the read
    with k25.db.session(write=False) as s:
        kept = list(s.exec(select(Artifact).where(Artifact.conversation_id == conversation_id, Artifact.kind == "image")))
    assert len(kept) == 1  # stored once


async def test_a_resumed_run_finds_a_finished_steps_images_again(tmp_path: Path):
    """After a crash a finished tool step is replayed from its row: its images come back by artifact id."""
    from types import SimpleNamespace

    from agents.planner import images as planner_images
    from storage import images as stored
    from storage.db import Database

    db = Database(f"sqlite:///{tmp_path}/k2hub.db")
    conversation = repo.create_conversation(db, "pages", "openai-compatible", "kimi-k2.5")
    art = stored.save_image(db, png(40, 30), mime="image/png", name="p.png", conversation_id=conversation.id)
    hub = SimpleNamespace(tool_info=lambda name: None)
    ctx = SimpleNamespace(db=db, chain=[spec("moonshot", "kimi-k2.5")], conversation_id=conversation.id, hub=hub)
    view = f"page 1\n[image {art.id[:12]} (image/png, 40×30)]"
    (entry,) = await planner_images.named_in(ctx, "pdf_reader__page_image", view)
    assert entry["id"] == art.id and (entry["width"], entry["height"]) == (40, 30) and entry["tokens"] == 2 * 2 + 6
    assert await planner_images.named_in(ctx, "x", "[image 000000000000 (image/png, 1×1)]") == []
