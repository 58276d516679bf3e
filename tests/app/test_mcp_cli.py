"""`python run.py mcp …`: add, vet, enable, list, tools, call, login, disable, remove — as a user types them."""

from __future__ import annotations

import asyncio
import json
import os
import pty
import re
import select
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from app.cli import main
from tests.agents.oauth_support import click_allow, oauth_server

ROOT = Path(__file__).resolve().parents[2]
TOOLBOX = str(ROOT / "tests" / "agents" / "hub_servers" / "toolbox.py")
pytestmark = [pytest.mark.slow, pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap is not "
                                                     "installed (apt-get install bubblewrap); .ci/run installs it")]


def cli(*args: str, home: Path, stdin: int | None = subprocess.DEVNULL) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "K2HUB_HOME": str(home)}
    return subprocess.run([sys.executable, "-m", "app.cli", *args], cwd=ROOT, env=env, text=True, stdin=stdin,
                          capture_output=True, timeout=120)


def test_add_vet_enable_call_disable_remove(_isolated_home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["mcp", "add", "tb", "--", sys.executable, TOOLBOX]) == 0
    out = capsys.readouterr().out
    assert "It does not start until you enable it" in out and "quarantined: no network, no home directory" in out
    assert "• book — Ask the user for the booking details" in out and "Enable it with" in out
    assert main(["mcp", "call", "tb", "add", "--args", '{"a": 1, "b": 2}']) == 1  # not enabled yet
    assert "tb is pending" in capsys.readouterr().err
    assert main(["mcp", "enable", "tb"]) == 0
    assert "Enabled tb (" in capsys.readouterr().out
    assert main(["mcp", "list"]) == 0
    listing = capsys.readouterr().out
    assert re.search(r"^tb\s+enabled\s+stdio\s+\d+ pinned", listing, re.M), listing
    assert main(["mcp", "call", "tb", "add", "--args", '{"a": 1, "b": 2}']) == 0
    assert capsys.readouterr().out.strip() == "3"
    assert main(["mcp", "call", "tb", "steps", "--args", '{"count": 2}']) == 0
    streamed = capsys.readouterr()
    assert "2 steps done" in streamed.out and "[progress 100%] step 2 of 2" in streamed.err
    assert "[info] finished step 1" in streamed.err
    assert main(["mcp", "call", "tb", "add", "--args", "{oops"]) == 1
    assert "--args is not valid JSON" in capsys.readouterr().err
    assert main(["mcp", "tools", "tb"]) == 0
    assert "add [pinned]" in capsys.readouterr().out
    assert main(["mcp", "disable", "tb"]) == 0
    assert json.loads((_isolated_home / "mcp.json").read_text())["mcpServers"]["tb"]["disabled"] is True
    assert main(["mcp", "remove", "tb"]) == 0
    assert json.loads((_isolated_home / "mcp.json").read_text())["mcpServers"] == {}
    assert not (_isolated_home / "mcp" / "tb.json").exists()
    assert main(["mcp", "remove", "tb"]) == 1 and "no server named 'tb'" in capsys.readouterr().err


@pytest.mark.parametrize("line", [["mcp", "add", "x"], ["mcp", "add", "x", "--url", "http://h/mcp", "--", "cmd"],
                                  ["mcp", "add", "bad name", "--", "cmd"], ["mcp", "add", "workspace", "--", "cmd"],
                                  ["mcp", "add", "u", "--url", "ftp://h/mcp"]])
def test_bad_additions_are_refused_and_nothing_is_written(line: list[str], _isolated_home: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    assert main(line) == 1
    assert capsys.readouterr().err.startswith("error: ")
    assert not (_isolated_home / "mcp.json").exists()


def test_a_question_is_declined_without_a_terminal_and_asked_on_one(_isolated_home: Path) -> None:
    assert main(["mcp", "add", "tb", "--no-vet", "--", sys.executable, TOOLBOX]) == 0
    assert main(["mcp", "enable", "tb"]) == 0
    piped = cli("mcp", "call", "tb", "book", home=_isolated_home)
    assert piped.returncode == 0 and piped.stdout.strip() == "not booked: decline"
    assert "declined: no terminal to ask you on" in piped.stderr
    # On a terminal the form is asked field by field (Enter keeps a default).
    leader, follower = pty.openpty()
    env = {**os.environ, "K2HUB_HOME": str(_isolated_home)}
    proc = subprocess.Popen([sys.executable, "-m", "app.cli", "mcp", "call", "tb", "book"], cwd=ROOT, env=env,
                            stdin=follower, stdout=follower, stderr=follower)
    os.close(follower)
    seen = b""
    answers = [b"Lovelace\n", b"7\n", b"\n", b"n\n"]
    deadline = time.monotonic() + 60
    while proc.poll() is None and time.monotonic() < deadline:
        ready, _, _ = select.select([leader], [], [], 0.5)
        if ready:
            try:
                seen += os.read(leader, 4096)
            except OSError:
                break
            if answers and seen.rstrip().endswith(b":"):
                os.write(leader, answers.pop(0))
    proc.wait(10)
    os.close(leader)
    assert b"tb asks: Who is travelling?" in seen
    assert b"booked 7 economy seat(s) for Lovelace, window=False" in seen, seen.decode(errors="replace")


def test_login_prints_the_address_and_keeps_tokens_out_of_sight(_isolated_home: Path) -> None:
    with oauth_server() as guarded:
        assert main(["mcp", "add", "guarded", "--url", guarded.url]) == 0
        env = {**os.environ, "K2HUB_HOME": str(_isolated_home)}
        proc = subprocess.Popen([sys.executable, "-m", "app.cli", "mcp", "login", "guarded", "--no-browser"],
                                cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert proc.stdout is not None
        url = ""
        for line in proc.stdout:
            if line.strip().startswith("http://127.0.0.1"):
                url = line.strip()
                break
        assert url.startswith(f"{guarded.base}/authorize?") and "code_challenge=" in url
        asyncio.run(click_allow(url))
        rest, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
        assert "Logged in to guarded: 1 tools" in rest
        assert main(["mcp", "enable", "guarded"]) == 0
        listed = cli("mcp", "list", home=_isolated_home)
        assert "guarded" in listed.stdout and "logged in (token valid" in listed.stdout
        called = cli("mcp", "call", "guarded", "whoami", home=_isolated_home)
        assert called.stdout.strip() == "you are logged in", called.stderr
        token = json.loads((_isolated_home / "oauth" / "guarded.json").read_text())["tokens"]["access_token"]
        assert token not in rest + err + listed.stdout + called.stdout + called.stderr
