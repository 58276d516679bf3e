"""Run the SSRF battery (browser_ssrf_battery.py) inside a network namespace that has only loopback.

A guard bug then fails a test (the victim server inside the namespace records a hit) instead of reaching a real
address: the namespace has no route anywhere else. As root: `unshare -n -m`; otherwise `unshare -r -n -m` (a user
namespace) where the kernel allows it; the test skips with the reason when neither works.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest


from tests.helpers import requires_chromium, skip_missing

REPO = Path(__file__).resolve().parents[2]
SETUP = (
    "set -e; ip link set lo up; ip addr add 169.254.169.254/32 dev lo; ip addr add 10.0.0.1/32 dev lo; "
    'mount --bind "$K2HUB_SSRF_HOSTS" /etc/hosts; exec "$@"'
)

pytestmark = [
    pytest.mark.slow,
    requires_chromium,
]


def unshare_prefix() -> list[str] | str:
    """The unshare command that works here, or the reason none does."""
    if not shutil.which("unshare") or not shutil.which("ip"):
        return "needs unshare (util-linux) and ip (iproute2)"
    attempts = [["unshare", "-n", "-m"]] if os.geteuid() == 0 else []
    attempts.append(["unshare", "-r", "-n", "-m"])
    errors = []
    for prefix in attempts:
        probe = subprocess.run([*prefix, "sh", "-c", "ip link set lo up"], check=False, capture_output=True, text=True)
        if probe.returncode == 0:
            return prefix
        errors.append(f"{' '.join(prefix)}: {probe.stderr.strip() or probe.returncode}")
    return "cannot create a network namespace (" + "; ".join(errors) + ")"


def test_ssrf_battery_in_a_loopback_only_namespace(tmp_path: Path) -> None:
    prefix = unshare_prefix()
    if isinstance(prefix, str):
        skip_missing(prefix)
    hosts = tmp_path / "hosts"
    hosts.write_text("127.0.0.1 localhost evil.test\n::1 localhost ip6-localhost\n")
    env = {**os.environ, "K2HUB_SSRF_NETNS": "1", "K2HUB_SSRF_HOSTS": str(hosts), "PYTHONPATH": str(REPO)}
    battery = REPO / "tests/mcp_servers/browser_ssrf_battery.py"
    cmd = [
        *prefix,
        "sh",
        "-c",
        SETUP,
        "sh",
        sys.executable,
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        "-o",
        "addopts=",
        str(battery),
    ]
    proc = subprocess.run(cmd, check=False, cwd=REPO, env=env, capture_output=True, text=True, timeout=240)
    report = proc.stdout[-6000:] + proc.stderr[-2000:]
    assert proc.returncode == 0, report
    assert " passed" in proc.stdout and "skipped" not in proc.stdout and "failed" not in proc.stdout, report
