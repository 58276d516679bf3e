"""Flag risky Python calls with the standard library only: python3 scan_python.py [DIR] -> file:line: rule: detail."""

import ast
import os
import sys

CALLS = {
    "eval": "code-exec: eval() of a value",
    "exec": "code-exec: exec() of a value",
    "os.system": "command-injection: os.system runs a shell",
    "os.popen": "command-injection: os.popen runs a shell",
    "pickle.loads": "deserialization: pickle.loads on untrusted bytes runs code",
    "pickle.load": "deserialization: pickle.load on an untrusted file runs code",
    "marshal.loads": "deserialization: marshal.loads is unsafe on untrusted data",
    "yaml.load": "deserialization: yaml.load without SafeLoader",
    "hashlib.md5": "weak-hash: MD5 (never for passwords or signatures)",
    "hashlib.sha1": "weak-hash: SHA-1 (never for passwords or signatures)",
    "tempfile.mktemp": "race: tempfile.mktemp (use mkstemp)",
}
SUBPROCESS = {
    "subprocess.run",
    "subprocess.call",
    "subprocess.Popen",
    "subprocess.check_output",
    "subprocess.check_call",
}


def dotted(node: ast.AST) -> str:
    """'a.b.c' for a Name/Attribute chain, else ''."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = dotted(node.value)
        return f"{base}.{node.attr}" if base else ""
    return ""


def is_dynamic_string(node: ast.AST) -> bool:
    """An f-string, a % format, a + concatenation or a .format() call: a query built from values."""
    if isinstance(node, ast.JoinedStr):
        return any(isinstance(v, ast.FormattedValue) for v in node.values)
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Mod, ast.Add)):
        return True
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "format"


def scan(path: str, source: str) -> list[str]:
    findings = []
    try:
        tree = ast.parse(source, path)
    except SyntaxError as exc:
        return [f"{path}:{exc.lineno}: syntax-error: {exc.msg}"]
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = dotted(node.func)
        keywords = {k.arg: k.value for k in node.keywords}
        if name in CALLS and not (name == "yaml.load" and "Loader" in keywords):
            findings.append(f"{path}:{node.lineno}: {CALLS[name]}")
        if name in SUBPROCESS:
            shell = keywords.get("shell")
            if isinstance(shell, ast.Constant) and shell.value is True:
                findings.append(f"{path}:{node.lineno}: command-injection: {name}(shell=True)")
        if name.endswith((".execute", ".executemany")) and node.args and is_dynamic_string(node.args[0]):
            findings.append(f"{path}:{node.lineno}: sql-injection: query built from values; use parameters")
        if name.startswith("random.") and name.split(".")[-1] in ("random", "randint", "choice", "getrandbits"):
            findings.append(f"{path}:{node.lineno}: weak-random: {name} is predictable; use secrets for tokens")
        if (
            name.startswith("requests.")
            and isinstance(keywords.get("verify"), ast.Constant)
            and not keywords["verify"].value
        ):
            findings.append(f"{path}:{node.lineno}: tls: certificate verification disabled")
    return findings


def main() -> int:
    root = sys.argv[1] if len(sys.argv) > 1 else "."
    count = 0
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in ("node_modules", "venv", "__pycache__"))
        for name in sorted(files):
            if name.endswith(".py"):
                path = os.path.relpath(os.path.join(folder, name), root)
                with open(os.path.join(folder, name), encoding="utf-8", errors="replace") as f:
                    for line in scan(path, f.read()):
                        print(line)
                        count += 1
    print(f"{count} finding(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
