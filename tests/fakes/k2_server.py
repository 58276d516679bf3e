"""A real loopback HTTP server that answers OpenAI chat-completions requests the way Kimi K2 providers do."""

from __future__ import annotations

import argparse
import json
import socket
import sys
import threading
import time
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable, Literal

from tests.fakes import k2_images
from tests.fakes.k2_context import ContextModel, ContextStyle
from tests.fakes.k2_images import SeenImage, images_in
from tests.fakes.k2_wire import (
    ToolCall,
    Turn,
    build_usage,
    completion_body,
    count_replayed_tool_calls,
    default_error_body,
    echo_responder,
    error_body,
    groq_tool_use_failed,
    invalid_auth_body,
    k2_native_tool_text,
    k2_xml_tool_text,
    moonshot_missing_reasoning_error,
    sse_data,
    sse_error_event,
    stream_chunks,
    text_turn,
    thinking_rejection,
    tool_turn,
    wire_tool_calls,
)

__all__ = [
    "DEFAULT_MODELS",
    "FakeK2Server",
    "ToolCall",
    "Turn",
    "echo_responder",
    "groq_tool_use_failed",
    "images_in",
    "k2_native_tool_text",
    "k2_xml_tool_text",
    "moonshot_missing_reasoning_error",
    "text_turn",
    "tool_turn",
]

DEFAULT_MODELS = [
    "kimi-k2-0905-preview",
    "kimi-k2-turbo-preview",
    "kimi-k2-thinking",
    "kimi-k2-thinking-turbo",
    "kimi-k2.5",
    "moonshotai/kimi-k2-instruct-0905",
    "moonshotai/Kimi-K2-Instruct",
]

Responder = Callable[[dict], Turn]


class _Aborted(Exception):
    """The fake dropped the connection on purpose (a scripted mid-stream reset)."""


class _Server(ThreadingHTTPServer):
    """ThreadingHTTPServer that knows its FakeK2Server and stays quiet about client disconnects."""

    daemon_threads = True
    fake: "FakeK2Server"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.open_connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()

    def close_open_connections(self) -> None:
        """Cut keep-alive connections so a stopped server answers nothing more."""
        with self.connections_lock:
            connections = list(self.open_connections)
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Ignore connection errors (clients and scripted resets drop sockets); report the rest."""
        if isinstance(sys.exc_info()[1], (ConnectionError, _Aborted, TimeoutError)):
            return
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    """Routes /v1/models and /v1/chat/completions to the FakeK2Server."""

    protocol_version = "HTTP/1.1"
    # Idle keep-alive connections from litellm's pooled clients must not pin threads forever.
    timeout = 30
    server: _Server

    def setup(self) -> None:
        """Track the connection so stop() can close it."""
        super().setup()
        with self.server.connections_lock:
            self.server.open_connections.add(self.connection)

    def finish(self) -> None:
        """Forget the connection."""
        with self.server.connections_lock:
            self.server.open_connections.discard(self.connection)
        super().finish()

    def log_message(self, format: str, *args: Any) -> None:
        """Stay silent: tests read the recorded requests instead."""

    def do_GET(self) -> None:
        """GET /v1/models."""
        fake = self.server.fake
        if self.path.rstrip("/") == "/v1/fake/stats":  # long-run figures for a benchmark driving a server process
            self.send_json(200, fake.context.stats.as_dict())
        elif self.path.rstrip("/") not in ("/v1/models", "/models"):
            self.send_json(404, error_body(f"no route {self.path}", "not_found_error"))
        elif not fake.authorized(self.headers.get("Authorization")):
            self.send_json(401, invalid_auth_body())
        else:
            data = [{"id": m, "object": "model", "created": 0, "owned_by": "fake"} for m in fake.models]
            self.send_json(200, {"object": "list", "data": data})

    def do_POST(self) -> None:
        """POST /v1/chat/completions."""
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.path.rstrip("/") not in ("/v1/chat/completions", "/chat/completions"):
            self.send_json(404, error_body(f"no route {self.path}", "not_found_error"))
            return
        try:
            self.server.fake._serve_chat(self, raw)
        except _Aborted:
            self.close_connection = True
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def send_json(self, status: int, body: dict, headers: dict[str, str] | None = None) -> None:
        """Send one JSON response with a Content-Length."""
        data = json.dumps(body, ensure_ascii=False).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    def start_sse(self) -> None:
        """Send the headers of a chunked text/event-stream response."""
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()

    def write_chunk(self, data: bytes) -> None:
        """Write one HTTP chunk and push it out now, so the client sees each SSE event as it is sent."""
        self.wfile.write(f"{len(data):X}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()

    def end_chunks(self) -> None:
        """Terminate the chunked body."""
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def abort(self) -> None:
        """Drop the connection without finishing the response, like a reset mid-stream."""
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        raise _Aborted


class FakeK2Server:
    """Scripted K2 endpoint on 127.0.0.1: enqueue turns, point litellm at `url`, inspect `requests`."""

    def __init__(
        self,
        models: list[str] | None = None,
        thinking_models: set[str] | None = None,
        responder: Responder | None = None,
        api_key: str | None = None,
        port: int = 0,
        id_scope: Literal["conversation", "server"] = "conversation",
        window: int | None = None,
        context_style: ContextStyle = "moonshot",
        prefix_cache: bool = False,
        vision_models: set[str] | None = None,
    ) -> None:
        self.models = list(models or DEFAULT_MODELS)
        self.thinking_models = (
            set(thinking_models) if thinking_models is not None else {m for m in self.models if "thinking" in m}
        )
        # Models that take image parts (K2.5 by default); any other gets a 400 for an image, as a provider answers.
        self.vision_models = (
            set(vision_models) if vision_models is not None else {m for m in self.models if "k2.5" in m.lower()}
        )
        self.images: list[list[SeenImage]] = []  # per accepted request with images: what it showed, decoded
        self.responder = responder
        self.api_key = api_key
        self.id_scope = id_scope
        # Long-run mode: a window the provider enforces (its own 400 beyond it) and cached prompt prefixes.
        self.context = ContextModel(window, context_style, prefix_cache)
        self.requests: list[dict] = []
        self.requests_meta: list[dict] = []
        self._port = port
        self._queue: deque[Turn] = deque()
        self._lock = threading.Lock()
        self._served_tool_calls = 0
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None
        self.url = ""

    def start(self) -> "FakeK2Server":
        """Bind a port on 127.0.0.1 and serve in a daemon thread."""
        if self._httpd is not None:
            return self
        httpd = _Server(("127.0.0.1", self._port), _Handler)
        httpd.fake = self
        self._httpd = httpd
        self.url = f"http://127.0.0.1:{httpd.server_address[1]}/v1"
        self._thread = threading.Thread(
            target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, name="fake-k2", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and free the port."""
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        httpd.shutdown()
        httpd.server_close()
        httpd.close_open_connections()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> "FakeK2Server":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        """The bound port (0 before start)."""
        return self._httpd.server_address[1] if self._httpd else 0

    def enqueue(self, *turns: Turn | dict) -> None:
        """Append turns; each answers one /chat/completions request, in order."""
        with self._lock:
            self._queue.extend(t if isinstance(t, Turn) else Turn.from_dict(t) for t in turns)

    def pending(self) -> int:
        """How many scripted turns are still unserved."""
        with self._lock:
            return len(self._queue)

    def reset(self) -> None:
        """Forget queued turns, recorded requests and the tool-call counter."""
        with self._lock:
            self._queue.clear()
            self.requests.clear()
            self.requests_meta.clear()
            self.images.clear()
            self._served_tool_calls = 0

    def authorized(self, header: str | None) -> bool:
        """True when no key is required or the Bearer token matches."""
        return self.api_key is None or header == f"Bearer {self.api_key}"

    def is_thinking(self, body: dict) -> bool:
        """Whether this request runs with thinking on (thinking model, not switched off per request)."""
        thinking = body.get("thinking")
        disabled = isinstance(thinking, dict) and thinking.get("type") == "disabled"
        return body.get("model") in self.thinking_models and not disabled

    def validate(self, body: dict) -> tuple[int, dict] | None:
        """Provider-side checks; returns (status, error body) for a request a real provider rejects."""
        model = body.get("model")
        if model not in self.models:
            message = f"The model `{model}` does not exist or you do not have access to it."
            return 400, error_body(message, code="model_not_found")
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages:
            return 400, error_body("messages must be a non-empty list")
        rejection = thinking_rejection(messages, body.get("tool_choice")) if self.is_thinking(body) else None
        if rejection:
            return 400, rejection
        seen, refused = k2_images.check(body, model in self.vision_models)
        if refused:
            return refused
        if seen:
            with self._lock:
                self.images.append(seen)
        return None

    def _next_turn(self, body: dict) -> Turn | None:
        """The next scripted turn, else the responder's, else None."""
        with self._lock:
            if self._queue:
                return self._queue.popleft()
        return self.responder(body) if self.responder else None

    def _first_tool_index(self, body: dict, count: int) -> int:
        """Where this turn's tool-call numbering starts (K2 counts across the conversation)."""
        with self._lock:
            if self.id_scope == "server":
                first = self._served_tool_calls
            else:
                first = count_replayed_tool_calls(body.get("messages", []))
            self._served_tool_calls += count
            return first

    def _serve_chat(self, handler: _Handler, raw: bytes) -> None:
        """Record, check and answer one chat-completions request."""
        try:
            parsed = json.loads(raw or b"null")
        except ValueError:
            parsed = None
        body = parsed if isinstance(parsed, dict) else {}
        # Lower-case names: clients differ in header capitalisation and tests should not care.
        headers = {k.lower(): v for k, v in handler.headers.items()}
        meta = {"path": handler.path, "headers": headers, "time": time.time()}
        if not isinstance(parsed, dict):
            meta["raw"] = raw.decode("utf-8", "replace")
        with self._lock:
            self.requests.append(body)
            self.requests_meta.append(meta)
        if not self.authorized(handler.headers.get("Authorization")):
            handler.send_json(401, invalid_auth_body())
            return
        if not isinstance(parsed, dict):
            handler.send_json(400, error_body("request body is not a JSON object"))
            return
        rejected = self.validate(body)
        if rejected:
            handler.send_json(*rejected)
            return
        prompt, cached, too_long = self.context.measure(body)
        if too_long is not None:
            handler.send_json(400, too_long)
            return
        try:
            turn = self._next_turn(body)
        except Exception as exc:  # a broken responder must fail the call loudly, not hang it
            handler.send_json(500, error_body(f"fake K2: responder raised {exc!r}", "server_error"))
            return
        if turn is None:
            handler.send_json(500, error_body("fake K2: no scripted turn left", "server_error"))
            return
        self._play(handler, body, turn, prompt, cached)

    def _play(self, handler: _Handler, body: dict, turn: Turn, prompt: int | None = None, cached: int = 0) -> None:
        """Send one turn: an error, a JSON completion or an SSE stream."""
        if turn.delay_s:
            time.sleep(turn.delay_s)
        if turn.status != 200:
            headers = {"Retry-After": f"{turn.retry_after:g}"} if turn.retry_after is not None else None
            handler.send_json(turn.status, turn.error or default_error_body(turn.status), headers)
            return
        calls = wire_tool_calls(turn, self._first_tool_index(body, len(turn.tool_calls)))
        usage = build_usage(body, turn, calls, prompt, cached)
        model = body["model"]
        if not body.get("stream"):
            if turn.disconnect_after_chunks is not None:
                handler.abort()
            handler.send_json(200, completion_body(model, turn, calls, usage))
            return
        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
        chunks = list(stream_chunks(model, turn, calls, usage, include_usage))
        if turn.sse_error is not None:
            # Groq fails after the text it managed to generate: no tool calls, no finish chunk.
            chunks = [c for c in chunks if c["choices"] and c["choices"][0]["finish_reason"] is None
                      and "tool_calls" not in c["choices"][0]["delta"]]
        handler.start_sse()
        for sent, payload in enumerate(chunks):
            if turn.disconnect_after_chunks is not None and sent >= turn.disconnect_after_chunks:
                handler.abort()
            if sent and turn.chunk_delay_s:
                time.sleep(turn.chunk_delay_s)
            handler.write_chunk(sse_data(payload))
        if turn.sse_error is not None:
            handler.write_chunk(sse_error_event(turn.sse_error))
        else:
            handler.write_chunk(sse_data("[DONE]"))
        handler.end_chunks()


def main(argv: list[str] | None = None) -> None:
    """Run the fake server in the foreground for manual UI sessions."""
    parser = argparse.ArgumentParser(prog="python -m tests.fakes.k2_server", description=__doc__)
    parser.add_argument("--port", type=int, default=8000, help="port on 127.0.0.1 (0: any free port)")
    parser.add_argument("--script", type=Path, help="JSON file: a list of Turn objects served in order")
    parser.add_argument("--echo", action="store_true", help="answer unscripted requests with an echo")
    parser.add_argument("--api-key", help="require this Bearer token")
    parser.add_argument("--models", help="comma-separated model ids (default: K2 ids of Moonshot, Groq, vLLM)")
    parser.add_argument("--window", type=int, help="refuse requests over this many tokens with the provider's 400")
    parser.add_argument("--context-style", default="moonshot", choices=["moonshot", "openai", "groq", "vllm"],
                        help="whose 400 body to send for a request over the window")
    parser.add_argument("--prefix-cache", action="store_true", help="report cached tokens for shared prefixes")
    parser.add_argument("--id-scope", default="conversation", choices=["conversation", "server"],
                        help="number tool-call ids over the visible conversation (K2) or the server's lifetime")
    args = parser.parse_args(argv)
    models = args.models.split(",") if args.models else None
    # Without a script the server would only answer 500s, so echo is the sensible default then.
    responder = echo_responder if args.echo or not args.script else None
    server = FakeK2Server(models=models, responder=responder, api_key=args.api_key, port=args.port,
                          window=args.window, context_style=args.context_style, prefix_cache=args.prefix_cache,
                          id_scope=args.id_scope)
    if args.script:
        server.enqueue(*json.loads(args.script.read_text()))
    server.start()
    print(f"fake K2 serving at {server.url} (models: {', '.join(server.models)})", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()


if __name__ == "__main__":
    main()
