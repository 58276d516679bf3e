"""The word table is read from WordLlama's wheel without running the package, whose import configures logging."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

_PROBE = """
import json, logging, sys
from mcp_servers.pdf_reader import semantic
vectors = semantic.word_vectors(["revenue", "capital"])
print(json.dumps({"shape": list(vectors.shape), "root_handlers": len(logging.root.handlers),
                  "root_level": logging.root.level, "imported": "wordllama" in sys.modules}))
"""


def test_reading_the_word_table_leaves_the_processs_logging_alone():
    """Ingest builds the index in the app's process: WordLlama's logging.basicConfig(INFO) there printed litellm's
    INFO lines into `ask --json`'s output."""
    done = subprocess.run([sys.executable, "-c", _PROBE], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["shape"] == [2, 256]
    assert out == {"shape": [2, 256], "root_handlers": 0, "root_level": 30, "imported": False}
