"""`ask --attach FILE` from the terminal (issue 21): the real CLI process against the fake K2 server."""

# ruff: noqa: F811 - pytest fixtures imported by name and used as parameters

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

from PIL import Image

from agents.models.presets import K25_VISION
from tests.agents.conftest import REPO, fake_k2  # noqa: F401 - fixtures
from tests.fakes.k2_images import images_in
from tests.fakes.k2_server import FakeK2Server, Turn
from tests.mcp_servers.pdf_support import text_pdf


def _ask(home: Path, url: str, model: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {"K2HUB_HOME": str(home), "PATH": os.environ["PATH"], "PYTHONPATH": str(REPO), "TERM": "dumb",
           "K2HUB_BUILTIN_SERVERS": "workspace"}
    command = [sys.executable, "-m", "app.cli", "ask", *args, "--provider", "openai-compatible", "--model", model,
               "--base-url", url, "--json"]
    return subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=240,
                          stdin=subprocess.DEVNULL, check=False)


def _chart(path: Path) -> Path:
    """A 3,000×2,000 bar chart: six megapixels, far over the K2.5 pixel budget."""
    image = Image.new("RGB", (3000, 2000), (255, 255, 255))
    for n, height in enumerate((600, 1200, 1800)):
        image.paste((30, 90, 200), (300 + n * 900, 2000 - height, 800 + n * 900, 2000))
    image.save(path, "PNG")
    return path


def _events(done: subprocess.CompletedProcess[str]) -> list[dict]:
    assert done.stdout.strip(), done.stderr[-3000:]
    return [json.loads(line) for line in done.stdout.splitlines()]


def test_attach_chart_to_k25_sends_one_png_data_url_within_the_pixel_budget(
    fake_k2: FakeK2Server, _isolated_home: Path, tmp_path: Path
):
    def answer(body: dict) -> Turn:
        shown = images_in(body)
        return Turn(content=f"I see {len(shown)} image(s), {shown[0].width}×{shown[0].height}." if shown else "None.")

    fake_k2.responder = answer
    chart = _chart(tmp_path / "chart.png")
    report = tmp_path / "report.pdf"
    report.write_bytes(text_pdf(["Annual report: revenue 4.2 billion euros"]))
    done = _ask(_isolated_home, fake_k2.url, "kimi-k2.5", "Which bar is tallest?", "--attach", str(chart),
                "--attach", str(report))
    events = _events(done)
    assert done.returncode == 0, done.stderr[-3000:]
    body = fake_k2.requests[0]
    parts = [p for m in body["messages"] if isinstance(m.get("content"), list) for p in m["content"]]
    urls = [p["image_url"]["url"] for p in parts if p["type"] == "image_url"]
    assert len(urls) == 1 and urls[0].startswith("data:image/png;base64,")
    (image,) = images_in(body)  # decoded by Pillow, as the provider would
    assert image.format == "PNG" and image.width * image.height <= K25_VISION.max_pixels
    assert abs(image.width / image.height - 1.5) < 0.01
    user = next(m for m in body["messages"] if isinstance(m.get("content"), list))
    assert user["role"] == "user" and user["content"][0] == {"type": "text", "text": "Which bar is tallest?"}
    assert "revenue 4.2 billion" in json.dumps(body["messages"])  # the PDF leads the run as an attached document
    finished = [e for e in events if e["type"] == "run_finished"][-1]
    assert finished["answer"] == f"I see 1 image(s), {image.width}×{image.height}."


def test_attach_to_a_text_model_sends_no_image_and_tells_the_user(
    fake_k2: FakeK2Server, _isolated_home: Path, tmp_path: Path
):
    fake_k2.enqueue(Turn(content="I only read text."))
    done = _ask(_isolated_home, fake_k2.url, "kimi-k2-thinking", "What is in the chart?", "--attach",
                str(_chart(tmp_path / "chart.png")))
    events = _events(done)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "image_url" not in json.dumps(fake_k2.requests) and not fake_k2.images
    notices = [e["message"] for e in events if e["type"] == "notice"]
    assert any("cannot see images; K2.5 can" in n for n in notices), notices
    user = [m for m in fake_k2.requests[0]["messages"] if m["role"] == "user"][-1]
    assert "this model cannot see images" in user["content"]


def test_attach_a_30_mb_image_is_refused_with_a_clear_message(
    fake_k2: FakeK2Server, _isolated_home: Path, tmp_path: Path
):
    noise = Image.frombytes("RGB", (3300, 3300), os.urandom(3300 * 3300 * 3))
    big = tmp_path / "photo.png"
    out = io.BytesIO()
    noise.save(out, "PNG", compress_level=0)
    big.write_bytes(out.getvalue())
    assert big.stat().st_size > 30 * 1000 * 1000
    done = _ask(_isolated_home, fake_k2.url, "kimi-k2.5", "What is this?", "--attach", str(big))
    assert done.returncode == 1
    assert "photo.png: 32.7 MB is too large to send to a model (at most 20 MB)" in done.stderr
    assert not fake_k2.requests
