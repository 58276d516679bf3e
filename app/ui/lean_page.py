"""The page config without what the browser never reads (issue 19's first-paint target).

Gradio writes its whole app config into every page as one inline script, and the browser parses it before its
first paint. For each component the config carries three JSON schemas and an example input (`api_info`,
`api_info_as_input`, `api_info_as_output`, `example_inputs`): about a third of this app's ~340 KB. The page's own
code never reads them (it calls events by number); only the API description (`/info`, the "Use via API" page)
and Python clients do, through `/config`. So the page and `/config` get the schemas of the public endpoints'
components only (`PUBLIC_API`: /send keeps a complete, callable description), and the API description is still
built from the full config.

Each component also carries `component_class_id`, a 64-character hash (~25 KB here) the page uses to find the code
of a custom component; for Gradio's own components it finds the code by the component's type, and the hash only
comes first in that lookup. Components of classes from outside the gradio package keep it. Each event drops the
field no client reads (`max_batch_size`) and two that are empty for it (`api_description`, `rendered_in`: the page
reads a missing one as the empty value).
"""

from __future__ import annotations

import threading
from typing import Any

import gradio as gr

# Written per component by Gradio (blocks.py, config_for_block); read by the API description only.
API_SCHEMAS = ("api_info", "api_info_as_input", "api_info_as_output", "example_inputs")

UNREAD_EVENT_FIELDS = ("max_batch_size",)  # gr.load of this app reads collects_event_data: it stays
EMPTY_EVENT_FIELDS = ("api_description", "rendered_in")  # left out when None

_describing = threading.local()  # set while this thread builds the API description from the full config


def lean_config(config: dict[str, Any], keep: set[int], builtin: set[int]) -> dict[str, Any]:
    """A shallow copy of config whose components outside `keep` (ids) have no API schemas, and those in `builtin`
    (ids of Gradio's own component classes) no class id."""
    components = []
    for c in config.get("components", []):
        drop = (() if c.get("id") in keep else API_SCHEMAS) + \
            (("component_class_id",) if c.get("id") in builtin else ())
        components.append({k: v for k, v in c.items() if k not in drop} if drop else c)
    events = [{k: v for k, v in dep.items()
               if k not in UNREAD_EVENT_FIELDS and not (k in EMPTY_EVENT_FIELDS and v is None)}
              for dep in config.get("dependencies", [])]
    return {**config, "components": components, "dependencies": events}


# Endpoints the page lists in its API description; `/send` is the chat's, which scripts and the scale-out
# benchmark call through gradio_client.
PUBLIC_API = ("send",)


def undocument_events(demo: gr.Blocks) -> None:
    """Keep every event but `PUBLIC_API` out of the API description embedded in each page.

    Gradio writes the description of every named endpoint into the HTML (about 400 KB for this app's ~140 events,
    with example calls), and the browser parses and transforms it before its first paint; the UI itself calls
    events by number and never reads it. "undocumented" endpoints still run and stay callable by name.
    """
    for fn in demo.fns.values():
        if fn.api_name not in PUBLIC_API and fn.api_visibility == "public":
            fn.api_visibility = "undocumented"


class LeanPageBlocks(gr.Blocks):
    """gr.Blocks whose page config (`config`, served in the page and at /config) is `lean_config` of the full one."""

    _full: dict[str, Any] | None = None
    _lean: dict[str, Any] | None = None

    @property  # type: ignore[override]
    def config(self) -> dict[str, Any] | None:
        if self._full is None or getattr(_describing, "full", False):
            return self._full
        if self._lean is None:  # built on first read: events are marked public or not after Gradio sets config
            self._lean = lean_config(self._full, self.public_component_ids(), self.builtin_component_ids())
        return self._lean

    @config.setter
    def config(self, value: dict[str, Any]) -> None:
        self._full, self._lean = value, None

    def public_component_ids(self) -> set[int]:
        """Inputs and outputs of the events listed in the API description."""
        return {block._id for fn in self.fns.values() if fn.api_visibility == "public"
                for block in (*fn.inputs, *fn.outputs)}

    def builtin_component_ids(self) -> set[int]:
        """Blocks whose class is Gradio's own (the page finds their code by type name)."""
        return {i for i, block in self.blocks.items() if type(block).__module__.split(".")[0] == "gradio"}

    def get_api_info(self, all_endpoints: bool = False, page: str | None = None) -> Any:
        # Gradio reads each parameter's schema from self.config: this call sees the full one (per thread, as
        # requests are answered on several threads).
        _describing.full = True
        try:
            return super().get_api_info(all_endpoints=all_endpoints, page=page)
        finally:
            _describing.full = False
