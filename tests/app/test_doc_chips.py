"""The documents' chips and the uploads a send waits for (pure: no browser)."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

from app.ui.doc_chips import IngestJobs, chips_html


def test_a_hostile_title_is_text_in_its_chip() -> None:
    doc = SimpleNamespace(id="abc'><script>x</script>", title="<img src=x onerror=alert(1)>", page_count=3,
                          token_count=1200)
    shown = chips_html([doc])
    assert "<img" not in shown and "<script>" not in shown
    assert "&lt;img src=x onerror=alert(1)&gt;" in shown
    assert shown.count("data-doc=") == 1 and "aria-label='Remove &lt;img" in shown


async def test_a_send_waits_for_the_upload_of_its_conversation() -> None:
    jobs = IngestJobs()
    job = jobs.start("tab-1", "conv-1", ["3M_2018_10K.pdf"])
    job.report(0, 64, 100)
    lines: list[str] = []

    async def send() -> None:
        async for line in jobs.wait("tab-1", None):  # a new chat: it goes to the upload's conversation
            lines.append(line)

    waiting = asyncio.ensure_future(send())
    await asyncio.sleep(0.5)
    assert not waiting.done()
    assert lines[0] == "waiting for 3M_2018_10K.pdf (64 %)"
    assert jobs.conversation("tab-1") == "conv-1"
    jobs.end("tab-1", job)
    await asyncio.wait_for(waiting, 2)
    assert jobs.conversation("tab-1") is None
    # Another tab, or another conversation of this tab, does not wait.
    other = jobs.start("tab-2", "conv-2", ["a.pdf"])
    assert [x async for x in jobs.wait("tab-1", None)] == []
    assert [x async for x in jobs.wait("tab-2", "conv-9")] == []
    jobs.end("tab-2", other)


def test_the_reading_chip_has_one_bar_with_its_share() -> None:
    jobs = IngestJobs()
    job = jobs.start("t", "c", ["a.pdf", "b.pdf"])
    job.report(1, 30, 120)
    shown = chips_html([], job)
    assert shown.count("<progress") == 1 and "value='25'" in shown and "b.pdf" in shown
    assert "page 30 of 120" in shown

