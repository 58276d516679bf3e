"""Gradio is imported without rewriting its .pyi stubs: no file is written beside a component's source."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path
from types import ModuleType

import pytest

from app.ui import gradio_import

ROOT = Path(__file__).resolve().parents[2]

_DEFINE = textwrap.dedent(
    """
    import sys
    sys.path.insert(0, sys.argv[1])
    {first}
    import gradio
    import my_component  # a component class defined in a file of its own, as Gradio's are
    """
)

_COMPONENT = textwrap.dedent(
    """
    from gradio.components.textbox import Textbox


    class MyBox(Textbox):
        EVENTS = ["change"]
    """
)


def _stub_written(tmp_path: Path, first: str) -> bool:
    (tmp_path / "my_component.py").write_text(_COMPONENT)
    code = _DEFINE.format(first=first)
    done = subprocess.run([sys.executable, "-c", code, str(tmp_path)], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return (tmp_path / "my_component.pyi").exists()


def test_plain_gradio_writes_a_stub_beside_a_component(tmp_path: Path):
    """The behaviour being switched off: without the app, Gradio writes my_component.pyi."""
    assert _stub_written(tmp_path, first="")


def test_the_app_imports_gradio_without_writing_stubs(tmp_path: Path):
    assert not _stub_written(tmp_path, first="import app.ui")


def test_the_switch_is_a_no_op_once_gradio_is_imported(monkeypatch: pytest.MonkeyPatch):
    """Too late to matter, so nothing is installed (a finder left behind would never be removed)."""
    monkeypatch.setitem(sys.modules, "gradio.component_meta", ModuleType("gradio.component_meta"))
    monkeypatch.setattr(sys, "meta_path", list(sys.meta_path))
    gradio_import.skip_stub_writer()
    assert not any(isinstance(f, gradio_import._StubWriterOff) for f in sys.meta_path)
