"""Importing Gradio without its stub writer.

Every Gradio component class, when defined, re-reads its own source file, parses it with `ast` twice and rewrites
the `.pyi` stub beside it in site-packages (`gradio.component_meta.create_or_modify_pyi`). The stubs serve editors
only; at run time this is about a third of `import gradio`'s CPU (1.1-1.6 s per start on the 2-core CI machine) and
a write into the installed package on every start. `skip_stub_writer()` makes that step a no-op for this process.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys
from collections.abc import Sequence
from types import ModuleType
from typing import Any

_MODULE = "gradio.component_meta"


def _no_stub(*_args: Any, **_kwargs: Any) -> None:
    """Stands in for create_or_modify_pyi: the app never reads the stubs."""


class _StubWriterOff(importlib.abc.MetaPathFinder):
    """Finds gradio.component_meta the normal way and swaps its stub writer out right after the module runs.

    The swap must happen before gradio/__init__ goes on to define the components, so patching after `import gradio`
    would be too late; a finder that wraps this one module's loader is the narrowest place to do it.
    """

    def find_spec(self, name: str, path: Sequence[str] | None, target: ModuleType | None = None) -> Any:
        if name != _MODULE:
            return None
        sys.meta_path.remove(self)
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is None or spec.loader is None:
            return spec
        run = spec.loader.exec_module

        def exec_module(module: ModuleType) -> None:
            run(module)
            if callable(getattr(module, "create_or_modify_pyi", None)):
                module.create_or_modify_pyi = _no_stub  # type: ignore[attr-defined]

        spec.loader.exec_module = exec_module  # type: ignore[method-assign]
        return spec


def skip_stub_writer() -> None:
    """Turn Gradio's per-import stub rewriting off; call before the first `import gradio` (later calls do nothing)."""
    if _MODULE in sys.modules or any(isinstance(f, _StubWriterOff) for f in sys.meta_path):
        return
    sys.meta_path.insert(0, _StubWriterOff())
