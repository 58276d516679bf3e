"""How sandboxed code is started: bubblewrap namespaces and an unprivileged uid, or (opt-in only) no isolation.

Three ways, chosen once per server process:
- root: bwrap without a user namespace (a uid mapped back to root would escape RLIMIT_NPROC), then setpriv drops
  to a per-conversation uid that owns nothing on the host, so the kernel enforces the process limit for real;
- user: an unprivileged bwrap in a new user namespace, which caps processes per namespace by itself;
- unsafe-local: the explicit K2HUB_SANDBOX=unsafe-local opt-out: rlimits and a timeout, nothing else.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from mcp_servers.common.limits import UNSAFE, Limits

WORKSPACE = "/workspace"
FILES = "/sandbox"
MOUNTS = "/opt"
# Sandbox uids own nothing on the host and belong to no account; one per conversation so that a fork bomb in one
# conversation cannot use up the process limit of another.
UID_BASE = 1_500_000_000
UID_SPAN = 100_000_000
SYSTEM_DIRS = ("/usr", "/bin", "/lib", "/lib64", "/sbin")
# /etc stays out (/etc/shadow must not be readable) except Debian's alternatives symlinks (awk, cc, ...), the linker
# cache and GnuCOBOL's dialect files.
ETC_ENTRIES = ("/etc/alternatives", "/etc/ld.so.cache", "/etc/gnucobol")
SHM_MB = 64
BASE_ENV = {
    "PATH": "/usr/local/bin:/usr/bin:/bin",
    "HOME": "/tmp",
    "TMPDIR": "/tmp",
    "LANG": "C.UTF-8",
    "TZ": "UTC",
    "USER": "sandbox",
    "LOGNAME": "sandbox",
    "PYTHONDONTWRITEBYTECODE": "1",  # no __pycache__ litter in the workspace
    "PYTHONUNBUFFERED": "1",  # output printed before a timeout still reaches the model
}


@dataclass(frozen=True)
class Mount:
    """A host directory the code sees at /opt/<name>; read-only unless writable."""

    name: str
    host: Path
    writable: bool = False


@dataclass(frozen=True)
class Layout:
    """Where the code finds things: the workspace, this run's private files, and the extra mounts."""

    workspace: str
    files: str
    mounts: dict[str, str]


@dataclass
class Job:
    """One command to run: build(layout) returns argv and extra environment once the paths are known."""

    build: Callable[[Layout], tuple[list[str], dict[str, str]]]
    cwd: str = ""  # relative to the workspace
    files: dict[str, bytes] = field(default_factory=dict)  # private read-only files, e.g. the code to run
    mounts: list[Mount] = field(default_factory=list)
    stdin: bytes | None = None


@dataclass
class Launch:
    """Everything subprocess needs; close() once the process started, finish() once it ended."""

    argv: list[str]
    env: dict[str, str]
    cwd: str
    pass_fds: tuple[int, ...]
    stdin: int | None
    info: int | None = None  # read end of bwrap's --info-fd: the host pid of the sandbox's init
    cleanup: list[Callable[[], None]] = field(default_factory=list)  # descriptors: the child has its copies
    after_exit: list[Callable[[], None]] = field(default_factory=list)  # files the child reads while it runs

    def close(self) -> None:
        for step in self.cleanup:
            step()
        self.cleanup.clear()

    def finish(self) -> None:
        self.close()
        for step in self.after_exit:
            step()
        self.after_exit.clear()

    def sandbox_pid(self) -> int | None:
        """The host pid of the sandbox's init, once bwrap has reported it (None without isolation)."""
        if self.info is None:
            return None
        try:
            raw = os.read(self.info, 4096)
        except BlockingIOError:
            return None
        match = re.search(rb'"child-pid":\s*(\d+)', raw)
        return int(match.group(1)) if match else None


class Isolation:
    """The chosen way of running code; build a Launch per run with launch()."""

    def __init__(self, kind: str, limits: Limits, bwrap: str | None = None) -> None:
        self.kind = kind  # "root", "user" or "unsafe-local"
        self.limits = limits
        self.bwrap = bwrap

    @property
    def isolated(self) -> bool:
        return self.kind != UNSAFE

    def uid_for(self, conversation: str) -> int | None:
        """The uid code of this conversation runs as (None: the server's own uid)."""
        if self.kind != "root":
            return None
        return UID_BASE + zlib.crc32(conversation.encode()) % UID_SPAN

    def launch(self, job: Job, workspace: Path, conversation: str, timeout_s: float) -> Launch:
        """The command line that runs job with the workspace as its only writable directory."""
        if self.kind == UNSAFE:
            return self._unsafe(job, workspace, timeout_s)
        fds: list[int] = []
        # bwrap itself gets no environment of the server's: not even its /proc/<pid>/environ could show a key.
        launch = Launch([], {"PATH": "/usr/bin:/bin"}, "/", (), None, [lambda: [os.close(f) for f in fds]])
        try:
            self._bwrap_argv(launch, fds, job, workspace, self.uid_for(conversation), timeout_s)
        except BaseException:
            launch.finish()
            raise
        return launch

    def _bwrap_argv(self, launch: Launch, fds: list[int], job: Job, workspace: Path, uid: int | None,
                    timeout_s: float) -> None:
        layout = Layout(WORKSPACE, FILES, {m.name: f"{MOUNTS}/{m.name}" for m in job.mounts})
        argv, extra_env = job.build(layout)

        def data(content: bytes) -> str:
            fds.append(_memfd(content))
            return str(fds[-1])

        # bwrap reports the sandbox init's pid here: its end means every process of the sandbox has ended.
        info_read, info_write = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        fds.append(info_write)
        launch.info = info_read
        launch.after_exit.append(lambda: os.close(info_read))
        cmd = [self.bwrap or "bwrap", "--info-fd", str(info_write), "--unshare-ipc", "--unshare-pid",
               "--unshare-net", "--unshare-uts", "--unshare-cgroup-try", "--die-with-parent", "--new-session",
               "--hostname", "sandbox"]
        if self.kind == "root":
            # setpriv needs these to switch to the sandbox uid; it drops them (and the bounding set) before exec.
            cmd += ["--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID", "--cap-add", "CAP_SETPCAP"]
        else:
            cmd += ["--unshare-user", "--disable-userns"]
        for path in SYSTEM_DIRS:
            if os.path.islink(path):
                cmd += ["--symlink", os.readlink(path), path]
            elif os.path.isdir(path):
                cmd += ["--ro-bind", path, path]
        cmd += ["--perms", "0755", "--dir", "/etc"]
        for path in ETC_ENTRIES:
            if os.path.exists(path):
                cmd += ["--ro-bind", path, path]
        shown_uid = uid if uid is not None else os.getuid()
        for name, content in _identity_files(shown_uid).items():
            cmd += ["--perms", "0444", "--ro-bind-data", data(content), f"/etc/{name}"]
        cmd += ["--proc", "/proc", "--dev", "/dev"]
        cmd += ["--perms", "1777", "--size", str(SHM_MB * 1024 * 1024), "--tmpfs", "/dev/shm"]
        cmd += ["--perms", "1777", "--size", str(self.limits.tmp_mb * 1024 * 1024), "--tmpfs", "/tmp"]
        cmd += ["--bind", str(workspace), WORKSPACE]
        if job.mounts:
            cmd += ["--perms", "0755", "--dir", MOUNTS]
            for m in job.mounts:
                cmd += ["--bind" if m.writable else "--ro-bind", str(m.host), layout.mounts[m.name]]
        if job.files:
            cmd += ["--perms", "0755", "--dir", FILES]
            for name, content in job.files.items():
                cmd += ["--perms", "0444", "--ro-bind-data", data(content), f"{FILES}/{name}"]
        cmd += ["--chdir", f"{WORKSPACE}/{job.cwd}".rstrip("/"), "--clearenv"]
        for key, value in {**BASE_ENV, **extra_env}.items():
            cmd += ["--setenv", key, value]
        # The options name host paths (the workspace, the Go root): they go to bwrap through a descriptor, so the
        # sandbox's /proc/1/cmdline (bwrap's own init) shows only what runs inside, with sandbox paths.
        options = data(b"".join(arg.encode("utf-8", "surrogateescape") + b"\0" for arg in [*cmd[1:], "--"]))
        inner = [*self.limits.prlimit_argv(timeout_s)]
        if uid is not None:
            inner += ["/usr/bin/setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--no-new-privs",
                      "--inh-caps=-all", "--bounding-set=-all", "--"]
        launch.argv = [cmd[0], "--args", options, *inner, *argv]
        if job.stdin is not None:
            launch.stdin = _memfd(job.stdin)
            fds.append(launch.stdin)
        launch.pass_fds = tuple(f for f in fds if f != launch.stdin)

    def _unsafe(self, job: Job, workspace: Path, timeout_s: float) -> Launch:
        """No namespaces: the code runs as the server's user with the real file system (the user opted in)."""
        private = tempfile.mkdtemp(prefix="k2hub-unsafe-")
        mounts = {m.name: str(m.host) for m in job.mounts}
        layout = Layout(str(workspace), private, mounts)
        for name, content in job.files.items():
            Path(private, name).write_bytes(content)
        argv, extra_env = job.build(layout)
        env = {**BASE_ENV, "HOME": private, "TMPDIR": private, **extra_env}
        launch = Launch([*self.limits.prlimit_argv(timeout_s), *argv], env, str(workspace / job.cwd), (), None,
                        after_exit=[lambda: shutil.rmtree(private, ignore_errors=True)])
        if job.stdin is not None:
            launch.stdin = _memfd(job.stdin)
            fd = launch.stdin
            launch.cleanup.append(lambda: os.close(fd))
        return launch


def choose(kind_setting: str, limits: Limits) -> tuple[Isolation | None, str]:
    """The isolation to use, or None and the reason code cannot run here with what to do about it."""
    if kind_setting == UNSAFE:
        return Isolation(UNSAFE, limits), ""
    bwrap = find_bwrap()
    if bwrap is None:
        return None, ("the code sandbox needs bubblewrap, which is not installed: install it "
                      "(Debian/Ubuntu: apt-get install bubblewrap) and restart the app")
    kind = "root" if os.geteuid() == 0 else "user"
    needed = ["/usr/bin/prlimit"] + (["/usr/bin/setpriv"] if kind == "root" else [])
    missing = [p for p in needed if not os.path.exists(p)]
    if missing:
        return None, f"the code sandbox needs {', '.join(missing)} (Debian package util-linux)"
    iso = Isolation(kind, limits, bwrap)
    problem = _probe(iso)
    if problem:
        return None, problem
    return iso, ""


def find_bwrap() -> str | None:
    """bubblewrap's executable: on PATH, else where Debian installs it (the hub passes built-ins a short PATH)."""
    return shutil.which("bwrap") or ("/usr/bin/bwrap" if os.path.exists("/usr/bin/bwrap") else None)


def _probe(iso: Isolation) -> str:
    """Start one empty sandbox; explain a failure (no namespaces in this container, seccomp, ...)."""
    empty = tempfile.mkdtemp(prefix="k2hub-probe-")
    launch = iso.launch(Job(lambda _: (["/bin/true"], {})), Path(empty), "probe", 10)
    launch.after_exit.append(lambda: os.rmdir(empty))
    try:
        done = subprocess.run(launch.argv, env=launch.env, cwd=launch.cwd, pass_fds=launch.pass_fds,
                              stdin=subprocess.DEVNULL, capture_output=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"could not start bubblewrap: {exc}"
    finally:
        launch.finish()
    if done.returncode == 0:
        return ""
    why = done.stderr.decode(errors="replace").strip() or f"exit code {done.returncode}"
    return (f"this host cannot create the sandbox's namespaces ({why}); code is not run without isolation. Run the "
            "app where user/pid/network namespaces are allowed (a VM, or a container started with "
            "--security-opt seccomp=unconfined --cap-add SYS_ADMIN, or with kernel.unprivileged_userns_clone=1), or "
            "set K2HUB_SANDBOX=unsafe-local to run code WITHOUT isolation on a machine you are willing to lose")


def _identity_files(uid: int) -> dict[str, bytes]:
    """passwd, group and hosts for the sandbox, so tools that look up the user or localhost behave."""
    return {
        "passwd": f"root:x:0:0:root:/root:/usr/sbin/nologin\nsandbox:x:{uid}:{uid}:sandbox:/tmp:/bin/sh\n".encode(),
        "group": f"root:x:0:\nsandbox:x:{uid}:\n".encode(),
        "hosts": b"127.0.0.1 localhost sandbox\n::1 localhost\n",
    }


def _memfd(content: bytes) -> int:
    """An in-memory file holding content, readable from its start (bwrap copies it; stdin reads it)."""
    fd = os.memfd_create("k2hub-sandbox", 0)
    try:
        view = memoryview(content)
        while view:
            view = view[os.write(fd, view):]
        os.lseek(fd, 0, os.SEEK_SET)
    except BaseException:
        os.close(fd)
        raise
    return fd
