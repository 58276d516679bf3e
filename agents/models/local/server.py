"""An OpenAI-compatible chat server around llama_cpp.Llama, bound to 127.0.0.1.

It renders prompts with the GGUF's own chat template (tools included), streams SSE chunks, reports usage with the
prompt tokens it reused, and keeps llama.cpp's KV cache between requests so the next step of an agent loop only reads
what is new. Tool calls stay text (agents.models.toolcall_text parses them on the client side, like for any server); when
tools were offered, generation stops once the first call is complete (the small model otherwise repeats it).

    python -m agents.models.local.server --model FILE.gguf [--port 0] [--context 8192] [--threads N] [--no-prefix-cache]
                                         [--state-cache DIR]

With --state-cache, the KV state of each prompt's stable prefix (the system message, then with its tools) is kept in
DIR (state_cache.py): a fresh server restores it instead of reading those tokens again.

It prints `READY <port>` on stdout once the model is loaded and the socket listens, and exits when its parent does.
Starlette and uvicorn come with gradio; llama_cpp is imported only here, in the child process.
"""

from __future__ import annotations

import argparse
import asyncio
import ctypes
import json
import logging
import os
import socket
import sys
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

from agents.models.local.state_cache import ModelKey, StateStore, private_dir
from agents.models.toolcall_text import complete_call_end

log = logging.getLogger(__name__)

DEFAULT_MAX_TOKENS = 1024
# Tokens are sent in chunks at most this often: every chunk costs the client (litellm, the planner's events) CPU that
# the generation on the same cores then lacks; 20 chunks a second still streams smoothly.
CHUNK_EVERY_S = 0.05
# For GGUFs without a template (K2HUB_LOCAL_MODEL may name any file): plain ChatML.
CHATML = ("{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}"
          "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")
_END = object()
# Shorter stable prefixes are not worth a file: reading 128 tokens takes ~2 s, restoring a file a fraction of that.
MIN_STORED_PREFIX = 128


class Engine:
    """One loaded model. A llama context is not thread-safe: generations run one at a time, in a worker thread."""

    def __init__(self, path: Path, *, context: int, threads: int, prefix_cache: bool = True,
                 state_dir: Path | None = None) -> None:
        import llama_cpp
        from llama_cpp import Llama

        self.llm = Llama(model_path=str(path), n_ctx=context, n_threads=threads, n_threads_batch=threads, verbose=False)
        self.template = ChatTemplate(self.llm)
        self.eos = self.template.eos
        self.model_id = path.stem
        self.context = context
        self.prefix_cache = prefix_cache
        self.lock = threading.Lock()
        # Without the in-memory prefix cache (benchmarks) the disk one is off too: every prompt is read in full.
        self.states = (StateStore(state_dir, ModelKey.of(path, context, llama_cpp.__version__))
                       if state_dir is not None and prefix_cache else None)

    def tokens(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None) -> list[int]:
        """The prompt tokens of a request."""
        return self.template.tokens(messages, tools)

    def stable_prefixes(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None,
                        tokens: list[int]) -> list[int]:
        """Lengths of the prefixes of `tokens` that later requests share: the first system message alone, then with
        the tools. Found without knowing the template: each is the common start of the prompt and that message
        rendered alone (the rendering adds a generation prompt, where the prompts differ)."""
        if self.states is None or not messages or messages[0].get("role") != "system":
            return []
        ends = set()
        for offered in (None, tools) if tools else (None,):
            try:
                n = _common_prefix(self.template.tokens(messages[:1], offered), tokens)
            except Exception:  # a template may refuse a conversation without a user turn: nothing to keep then
                continue
            if n >= MIN_STORED_PREFIX:
                ends.add(min(n, len(tokens) - 1))  # at least one token left for the completion to read
        return sorted(ends)

    def use_stored_prefix(self, tokens: list[int], ends: list[int]) -> int:
        """Restore the longest stored prefix the model does not already hold; read and store the ones missing.
        Returns how many prompt tokens were reused (held in memory or restored), not read."""
        have = _common_prefix(self.llm._input_ids, tokens)
        if self.states is None or not ends:
            return have
        for n in reversed(ends):
            if have >= n:
                break
            state = self.states.load(tokens[:n])
            if state is not None and _set_seq_state(self.llm, tokens[:n], state):
                have = n
                break
        reused = have
        for n in ends:
            if n > have and not self.states.has(tokens[:n]):
                # The completion would read these tokens anyway: reading them first lets us keep their state.
                self.llm.n_tokens = have
                self.llm.eval(tokens[have:n])
                have = n
                self.states.save(tokens[:n], _seq_state(self.llm))
        return reused

    def generate(self, tokens: list[int], params: dict[str, Any], tool_names: set[str],
                 cancel: threading.Event, stable: list[int] | None = None) -> Iterator[dict[str, Any]]:
        """Text pieces, then one final item with finish_reason and usage. Call with `lock` held."""
        from llama_cpp import StoppingCriteriaList

        started = time.perf_counter()
        if not self.prefix_cache:
            self.llm.reset()
        cached = self.use_stored_prefix(tokens, stable or [])
        sampled = [0]

        def stop_when_told(_ids: Any, _logits: Any) -> bool:
            sampled[0] += 1
            return cancel.is_set()

        text, finish, first = "", "length", 0.0
        stream = self.llm.create_completion(
            tokens, stream=True, stopping_criteria=StoppingCriteriaList([stop_when_told]),
            max_tokens=min(params.get("max_tokens") or DEFAULT_MAX_TOKENS, self.context - len(tokens)),
            temperature=float(params.get("temperature", 0.8)), top_p=float(params.get("top_p", 0.95)),
            stop=[*([self.eos] if self.eos else []), *_as_list(params.get("stop"))],
            seed=params.get("seed"), presence_penalty=float(params.get("presence_penalty") or 0.0),
            frequency_penalty=float(params.get("frequency_penalty") or 0.0),
        )
        pending, sent_at = "", 0.0
        for chunk in stream:
            choice = chunk["choices"][0]
            piece = choice["text"]
            if piece:
                now = time.perf_counter()
                first = first or now
                text += piece
                pending += piece
                if now - sent_at >= CHUNK_EVERY_S:
                    yield {"text": pending}
                    pending, sent_at = "", now
                # A call can only become complete on a closing character: checking then keeps this cheap.
                if tool_names and any(c in piece for c in "}>`") and complete_call_end(text, tool_names) is not None:
                    cancel.set()  # one call per step: the next sampled token ends the generation
            if choice.get("finish_reason"):
                finish = choice["finish_reason"]
        if pending:
            yield {"text": pending}
        if cancel.is_set():
            finish = "stop"
        done = time.perf_counter()
        first = first or done
        yield {"finish_reason": finish, "usage": {
            "prompt_tokens": len(tokens), "completion_tokens": sampled[0], "total_tokens": len(tokens) + sampled[0],
            "prompt_tokens_details": {"cached_tokens": min(cached, len(tokens))}},
            # As llama.cpp's own server reports them: reading the prompt vs generating (benchmarks, diagnosis).
            "timings": {"prompt_n": len(tokens) - cached, "prompt_ms": round((first - started) * 1000, 1),
                        "predicted_n": sampled[0], "predicted_ms": round((done - first) * 1000, 1)}}


class ChatTemplate:
    """The GGUF's own chat template (ChatML when it has none), rendering OpenAI messages and tools to tokens."""

    def __init__(self, llm: Any) -> None:
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        self.llm = llm
        vocab = llm._model
        eos, bos = llm.token_eos(), llm.token_bos()
        self.eos = vocab.token_get_text(eos) if eos != -1 else ""
        bos_text = vocab.token_get_text(bos) if bos != -1 else ""
        template = llm.metadata.get("tokenizer.chat_template") or CHATML
        self.formatter = Jinja2ChatFormatter(template, eos_token=self.eos, bos_token=bos_text)

    def tokens(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None) -> list[int]:
        """The prompt as the template renders it (the template adds BOS itself when it wants one)."""
        rendered = self.formatter(messages=[_for_template(m) for m in messages], tools=tools or None)
        return self.llm.tokenize(rendered.prompt.encode("utf-8"), add_bos=False, special=True)


def _seq_state(llm: Any) -> bytes:
    """The KV state of the model's sequence (only the cells it uses: ~12 KB per token for the 0.5B model)."""
    import llama_cpp

    size = llama_cpp.llama_state_seq_get_size(llm._ctx.ctx, 0)
    buf = (ctypes.c_uint8 * size)()
    n = llama_cpp.llama_state_seq_get_data(llm._ctx.ctx, buf, size, 0)
    return ctypes.string_at(buf, n)


def _set_seq_state(llm: Any, tokens: list[int], state: bytes) -> bool:
    """Make `state` (saved after reading exactly `tokens`) the model's sequence; False when llama.cpp refuses it."""
    import llama_cpp

    llm._ctx.kv_cache_seq_rm(-1, 0, -1)
    buf = (ctypes.c_uint8 * len(state)).from_buffer_copy(state)
    if not llama_cpp.llama_state_seq_set_data(llm._ctx.ctx, buf, len(state), 0):
        log.warning("model state cache: llama.cpp refused a stored state; reading the prompt instead")
        llm.reset()
        return False
    llm.input_ids[:len(tokens)] = tokens
    llm.n_tokens = len(tokens)
    llm._requires_eval = True  # the logits are not restored: the completion reads at least one more token
    return True


def _common_prefix(a: Any, b: list[int]) -> int:
    n = 0
    for x, y in zip(a, b):
        if x != y:
            break
        n += 1
    return n


def _as_list(value: Any) -> list[str]:
    if not value:
        return []
    return [value] if isinstance(value, str) else [str(v) for v in value]


def _for_template(message: dict[str, Any]) -> dict[str, Any]:
    """OpenAI message -> what HF chat templates expect: text content, tool-call arguments as objects."""
    m = dict(message)
    content = m.get("content")
    if isinstance(content, list):
        m["content"] = "".join(p.get("text", "") for p in content if isinstance(p, dict))
    elif content is None:
        m["content"] = ""
    calls = []
    for call in m.get("tool_calls") or []:
        fn = dict(call.get("function") or {})
        try:
            fn["arguments"] = json.loads(fn.get("arguments") or "{}")
        except (TypeError, ValueError):
            pass  # replay malformed arguments as the text the model wrote
        calls.append({**call, "function": fn})
    if calls:
        m["tool_calls"] = calls
    return m


def build_app(engine: Engine) -> Any:
    """The Starlette app: /health, /v1/models, /v1/chat/completions (streaming or not)."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse, StreamingResponse
    from starlette.routing import Route

    async def health(_request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok", "model": engine.model_id, "context": engine.context})

    async def models(_request: Request) -> JSONResponse:
        return JSONResponse({"object": "list", "data": [{"id": engine.model_id, "object": "model", "created": 0,
                                                          "owned_by": "k2hub-local"}]})

    async def chat(request: Request) -> Any:
        try:
            body = await request.json()
            messages = body["messages"]
            tools = body.get("tools") or None
            tokens = engine.tokens(messages, tools)
            stable = engine.stable_prefixes(messages, tools, tokens)
        except (ValueError, KeyError, TypeError) as exc:
            return _error(400, f"bad request: {exc}")
        except Exception as exc:  # the chat template itself can refuse a conversation (raise_exception)
            return _error(400, f"the model's chat template refused these messages: {exc}")
        if len(tokens) >= engine.context:
            return _error(400, f"the prompt is {len(tokens)} tokens; this local model's context is {engine.context} "
                               "(K2HUB_LOCAL_CONTEXT). Start a new chat or shorten the request.")
        names = {t["function"]["name"] for t in tools or [] if t.get("function", {}).get("name")}
        meta = {"id": f"chatcmpl-{uuid.uuid4().hex[:24]}", "created": int(time.time()), "model": engine.model_id}
        pieces = _generate(engine, tokens, body, names, stable)
        if body.get("stream"):
            usage = bool((body.get("stream_options") or {}).get("include_usage"))
            return StreamingResponse(_sse(pieces, meta, usage), media_type="text/event-stream")
        text, last = "", {}
        async for piece in pieces:
            text += piece.get("text", "")
            last = piece
        message = {"role": "assistant", "content": text}
        return JSONResponse({**meta, "object": "chat.completion", "usage": last.get("usage"),
                             "timings": last.get("timings"), "choices": [
            {"index": 0, "message": message, "finish_reason": last.get("finish_reason", "stop")}]})

    return Starlette(routes=[Route("/health", health), Route("/v1/models", models),
                             Route("/v1/chat/completions", chat, methods=["POST"])])


def _error(status: int, message: str) -> Any:
    from starlette.responses import JSONResponse

    return JSONResponse({"error": {"message": message, "type": "invalid_request_error"}}, status_code=status)


async def _generate(engine: Engine, tokens: list[int], params: dict[str, Any], names: set[str],
                    stable: list[int] | None = None) -> AsyncIterator[dict[str, Any]]:
    """Run the generation in a worker thread and hand its pieces to the event loop; a client that goes away stops it."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[Any] = asyncio.Queue()
    cancel = threading.Event()

    def work() -> None:
        try:
            with engine.lock:
                for piece in engine.generate(tokens, params, names, cancel, stable):
                    loop.call_soon_threadsafe(queue.put_nowait, piece)
        except Exception as exc:  # reported to the client as the stream's end
            loop.call_soon_threadsafe(queue.put_nowait, exc)
        finally:
            loop.call_soon_threadsafe(queue.put_nowait, _END)

    threading.Thread(target=work, name="generate", daemon=True).start()
    try:
        while (item := await queue.get()) is not _END:
            if isinstance(item, Exception):
                raise item
            yield item
    finally:
        cancel.set()


async def _sse(pieces: AsyncIterator[dict[str, Any]], meta: dict[str, Any], include_usage: bool) -> AsyncIterator[str]:
    def chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> str:
        body = {**meta, "object": "chat.completion.chunk",
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}], **extra}
        return f"data: {json.dumps(body, ensure_ascii=False)}\n\n"

    yield chunk({"role": "assistant", "content": ""})
    try:
        async for piece in pieces:
            if "text" in piece:
                yield chunk({"content": piece["text"]})
            else:
                yield chunk({}, piece["finish_reason"])
                if include_usage:
                    body = {**meta, "object": "chat.completion.chunk", "choices": [], "usage": piece["usage"],
                            "timings": piece["timings"]}
                    yield f"data: {json.dumps(body)}\n\n"
    except Exception as exc:  # mid-stream failure: an error event the OpenAI client raises on
        yield f"data: {json.dumps({'error': {'message': f'generation failed: {exc}', 'type': 'server_error'}})}\n\n"
    yield "data: [DONE]\n\n"


def _exit_with_parent(parent: int) -> None:
    """Exit when the process that started us is gone (killed with -9 included): no orphaned model servers."""
    def watch() -> None:
        while True:
            time.sleep(0.5)
            if os.getppid() != parent:
                os._exit(0)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def main(argv: list[str] | None = None) -> None:
    """Load the model, bind 127.0.0.1, print READY <port>, serve until killed or orphaned."""
    ap = argparse.ArgumentParser(prog="python -m agents.models.local.server",
                                 description="Local OpenAI-compatible model server.")
    ap.add_argument("--model", required=True, type=Path, help="GGUF file")
    ap.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0: any free one)")
    ap.add_argument("--context", type=int, default=8192, help="context window in tokens")
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1, help="CPU threads")
    ap.add_argument("--no-prefix-cache", action="store_true", help="re-read the whole prompt every request (benchmarks)")
    ap.add_argument("--state-cache", type=Path, default=None,
                    help="directory for the KV state of stable prompt prefixes (created 0700; off without it)")
    ap.add_argument("--parent", type=int, default=0, help="exit when this pid is no longer our parent")
    args = ap.parse_args(argv)
    if args.parent:
        _exit_with_parent(args.parent)
    import uvicorn

    state_dir = private_dir(args.state_cache) if args.state_cache else None
    engine = Engine(args.model, context=args.context, threads=args.threads, prefix_cache=not args.no_prefix_cache,
                    state_dir=state_dir)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", args.port))
    sock.listen(128)  # connections made right after READY wait in the backlog until uvicorn accepts them
    config = uvicorn.Config(build_app(engine), log_level="warning", lifespan="off", access_log=False)
    server = uvicorn.Server(config)
    print(f"READY {sock.getsockname()[1]}", flush=True)
    server.run(sockets=[sock])


if __name__ == "__main__":
    sys.exit(main())
