"""The first start of a new or changed stdio server, inside bubblewrap: no network (unless the user allows it), no
home directory, nothing writable but an empty /tmp, its own pid namespace, an unprivileged uid when the hub runs as
root (the same construction as the code sandbox, mcp_servers/sandbox/bwrap.py, issue 4; the hub spawns bwrap
itself because agents/ never imports mcp_servers/).

Only what the server needs to start is visible, read-only: the system directories, the program's own installation
(a Python venv and the interpreter it was made from, an npm package folder, the folder of a script named on the
command line), its working directory. Secrets stay out even when an argument names them: the home directory itself,
~/.ssh, ~/.gnupg, ~/.aws, ~/.config, the netrc files and $K2HUB_HOME are never shown.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from agents.errors import ToolFailed
from agents.hub import npx
from agents.hub.config import ServerConfig

SYSTEM_DIRS = ("/usr", "/bin", "/lib", "/lib64", "/sbin")
ETC = ("/etc/alternatives", "/etc/ld.so.cache", "/etc/ssl", "/etc/ca-certificates", "/etc/localtime",
       "/etc/nsswitch.conf", "/etc/mime.types")
ETC_NETWORK = ("/etc/resolv.conf", "/etc/hosts", "/etc/gai.conf", "/etc/host.conf")
HOME_INSIDE = "/home/quarantine"
UID = 1_499_000_000  # owns nothing on the host, like the sandbox's uids
SECRET_HOME_ENTRIES = (".ssh", ".gnupg", ".aws", ".config", ".netrc", ".npmrc", ".pypirc", ".docker", ".kube",
                       ".password-store", ".k2hub")
TMP_MB = 256


@dataclass
class Plan:
    """The quarantined command and what it was shown."""

    config: ServerConfig
    visible: list[str] = field(default_factory=list)
    hidden: list[str] = field(default_factory=list)  # paths the entry names that were kept out
    note: str = ""


def quarantine(config: ServerConfig, home: Path, *, network: bool = False) -> Plan:
    """A ServerConfig that starts `config` under bubblewrap; ToolFailed when that cannot be done here."""
    assert config.command is not None
    bwrap = shutil.which("bwrap") or ("/usr/bin/bwrap" if os.path.exists("/usr/bin/bwrap") else None)
    if bwrap is None:
        raise ToolFailed("vetting a local server needs bubblewrap (apt-get install bubblewrap)")
    plan = Plan(config)
    argv, wanted = _program(config, home, plan)
    host_home = Path.home().resolve()
    secrets = _secrets(host_home, home)
    binds: list[str] = []
    for path in sorted(set(wanted)):
        if _shown(path, host_home, secrets):
            binds.append(path)
        else:
            plan.hidden.append(path)
    root = os.geteuid() == 0
    cmd = [bwrap, "--die-with-parent", "--new-session", "--unshare-ipc", "--unshare-pid", "--unshare-uts",
           "--unshare-cgroup-try", "--hostname", "quarantine"]
    if not network:
        cmd.append("--unshare-net")
    if root:  # setpriv needs these to switch to the quarantine uid; it drops them (and the bounding set) itself
        cmd += ["--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID", "--cap-add", "CAP_SETPCAP"]
    else:
        cmd += ["--unshare-user", "--disable-userns"]
    for path in SYSTEM_DIRS:  # as the sandbox does (mcp_servers/sandbox/bwrap.py; agents may not import it)
        if os.path.islink(path):
            cmd += ["--symlink", os.readlink(path), path]
        elif os.path.isdir(path):
            cmd += ["--ro-bind", path, path]
    cmd += ["--perms", "0755", "--dir", "/etc"]
    for path in ETC + (ETC_NETWORK if network else ()):
        if os.path.exists(path):
            cmd += ["--ro-bind", path, path]
    cmd += ["--proc", "/proc", "--dev", "/dev"]
    cmd += ["--perms", "1777", "--size", str(TMP_MB << 20), "--tmpfs", "/tmp"]
    # The real home is an empty directory: programs installed under it become visible one by one below.
    cmd += ["--perms", "0755", "--tmpfs", str(host_home), "--perms", "1777", "--tmpfs", HOME_INSIDE]
    made = {"/", str(host_home), "/tmp", "/home", HOME_INSIDE, *SYSTEM_DIRS}
    for path in binds:
        # bwrap would create missing parents mode 0700: the quarantine uid could not walk through them.
        for parent in reversed(Path(path).parents):
            if str(parent) not in made:
                made.add(str(parent))
                cmd += ["--perms", "0755", "--dir", str(parent)]
        cmd += ["--ro-bind", path, path]
    cwd = config.cwd if config.cwd and config.cwd in binds else "/tmp"
    cmd += ["--chdir", cwd, "--clearenv"]
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": HOME_INSIDE, "TMPDIR": "/tmp", "LANG": "C.UTF-8",
           **config.env}
    for key, value in env.items():
        cmd += ["--setenv", key, value]
    cmd.append("--")
    if root:
        cmd += ["/usr/bin/setpriv", f"--reuid={UID}", f"--regid={UID}", "--clear-groups", "--no-new-privs",
                "--inh-caps=-all", "--bounding-set=-all", "--"]
    plan.visible = binds
    plan.config = config.model_copy(update={"command": cmd[0], "args": [*cmd[1:], *argv], "env": {}, "cwd": None})
    return plan


def _program(config: ServerConfig, home: Path, plan: Plan) -> tuple[list[str], list[str]]:
    """argv to run inside, and the host paths it needs to see."""
    assert config.command is not None
    path_env = config.env.get("PATH") or os.environ.get("PATH", "")
    wanted: list[str] = []
    if npx.is_npx(config.command):
        resolved = npx.resolve(config.args, home, config.env)
        plan.note = f"npx package from the {resolved.source}, run as {' '.join(resolved.argv[:2])}"
        argv = resolved.argv
        wanted.append(str(resolved.visible))
        args = resolved.argv[2:]
    else:
        found = shutil.which(config.command, path=path_env) if "/" not in config.command else config.command
        if found is None:
            raise ToolFailed(f"cannot start: command not found: {config.command}")
        argv = [found, *config.args]
        wanted += _installation(Path(found))
        args = config.args
    for arg in args:
        if arg.startswith("/") and os.path.exists(arg):
            real = Path(arg).resolve()
            wanted.append(str(real if real.is_dir() else _project_of(real)))
    if config.cwd and os.path.isdir(config.cwd):
        wanted.append(str(Path(config.cwd).resolve()))
    for entry in config.env.get("PYTHONPATH", "").split(os.pathsep):
        if entry.startswith("/") and os.path.isdir(entry):
            wanted.append(str(Path(entry).resolve()))
    return argv, [w for w in wanted if not w.startswith(SYSTEM_DIRS)]


PROJECT_MARKERS = ("package.json", "pyproject.toml", "setup.py", "node_modules")


def _project_of(script: Path) -> Path:
    """A script needs its siblings and its dependencies: the node_modules it sits in, else the nearest project
    folder above it (package.json, pyproject.toml…), else its own folder."""
    above = list(script.parents)[:8]
    for folder in above:
        if folder.name == "node_modules":
            return folder
    for folder in above:
        if any((folder / marker).exists() for marker in PROJECT_MARKERS):
            return folder
    return script.parent


def _installation(program: Path) -> list[str]:
    """The folders an executable runs from: a venv and its base interpreter, or its own prefix."""
    real = program.resolve()
    out: list[str] = []
    venv = program.absolute().parent.parent
    cfg = venv / "pyvenv.cfg"
    if cfg.exists():
        out.append(str(venv.resolve()))
        for line in cfg.read_text(encoding="utf-8", errors="replace").splitlines():
            key, _, value = line.partition("=")
            if key.strip() == "home" and value.strip():
                out.append(str(Path(value.strip()).resolve().parent))
    prefix = real.parent.parent if real.parent.name == "bin" else real.parent
    out.append(str(prefix))
    return out


def _secrets(host_home: Path, data_home: Path) -> list[Path]:
    return [host_home / name for name in SECRET_HOME_ENTRIES] + [data_home.resolve()]


def _shown(path: str, host_home: Path, secrets: list[Path]) -> bool:
    """Whether a folder may be bound: never the home itself (or above it), a secret folder, inside or above one;
    the npm packages the hub downloaded for vetting (in the data home) are the one exception."""
    p = Path(path)
    if p == Path("/") or p == host_home or p in host_home.parents:
        return False
    if secrets and (secrets[-1] / "mcp" / "npm") in p.parents:
        return True
    return not any(p == s or s in p.parents or p in s.parents for s in secrets)
