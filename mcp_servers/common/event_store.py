"""A bounded in-memory event store, so a client can resume a streamable HTTP stream with `Last-Event-ID`.

mcp's streamable HTTP transport keeps no events by itself: without a store, a GET that carries `Last-Event-ID`
(a client reconnecting after a dropped SSE stream) is answered with HTTP 500. With this store it gets every
event of that stream sent after the given id. Events live in memory only; the oldest are dropped first once
`max_events` are kept, so a client that reconnects after very long gets what is left (or nothing: a new stream).
"""

from __future__ import annotations

import itertools
from collections import OrderedDict

from mcp.server.streamable_http import EventCallback, EventId, EventMessage, EventStore, StreamId
from mcp_types import JSONRPCMessage

MAX_EVENTS = 2_000  # over all streams of the server process


class MemoryEventStore(EventStore):
    """Events in arrival order, each with an id that is unique for the life of the process."""

    def __init__(self, max_events: int = MAX_EVENTS) -> None:
        self.max_events = max_events
        self._events: OrderedDict[EventId, tuple[StreamId, JSONRPCMessage | None]] = OrderedDict()
        self._counter = itertools.count(1)

    async def store_event(self, stream_id: StreamId, message: JSONRPCMessage | None) -> EventId:
        """Keep one event (None: the priming event that opens a stream) and return its id."""
        event_id = str(next(self._counter))
        self._events[event_id] = (stream_id, message)
        while len(self._events) > self.max_events:
            self._events.popitem(last=False)
        return event_id

    async def replay_events_after(self, last_event_id: EventId, send_callback: EventCallback) -> StreamId | None:
        """Send the stream's events that came after last_event_id; None when that id is unknown (or dropped)."""
        found = self._events.get(last_event_id)
        if found is None:
            return None
        stream_id = found[0]
        after = False
        for event_id, (stream, message) in list(self._events.items()):
            if event_id == last_event_id:
                after = True
            elif after and stream == stream_id and message is not None:
                await send_callback(EventMessage(message, event_id))
        return stream_id
