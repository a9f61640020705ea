"""The OpenAI-compatible chat proxy: retrieve the query's module, apply it, answer through the
upstream model (plain or streamed), and log the interaction back to Kafka for UNO to learn from.

A primary module's rules go into the system message; a reflective module either adds a self-check
(one call) or runs draft -> critique -> revise (three calls, ``reflective_mode``).
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, Literal

import msgspec
import openai
from aiohttp import web
from msgspec import Meta

from processors.apply import module_messages, reflect
from processors.llm import ChatLLM, UsageLedger
from processors.retrieve import Retrieval
from processors.retry import async_openai_client, async_retrying
from streams.serving.http import ApiError, json_response, read_body, require
from streams.worker.metrics import Metrics
from uno_models import ExperienceModule, InteractionEvent, Message, ModuleKind, Settings, encode
from uno_models.api import NAMESPACE_HEADER, ErrorBody, ErrorDetail
from uno_models.limits import MAX_MESSAGES, MAX_TEXT, Id, Name, Namespace

Send = Callable[[str, str, bytes], Awaitable[None]]
Retrieve = Callable[[str, str], Awaitable[Retrieval]]


class ContentPart(msgspec.Struct, kw_only=True, omit_defaults=True):
    """One part of an OpenAI message's content (text, image, audio or file)."""

    type: Literal["text", "image_url", "input_audio", "file"]
    text: str | None = None
    image_url: dict[str, Any] | None = None
    input_audio: dict[str, Any] | None = None
    file: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        if getattr(self, self.type) is None:
            raise ValueError(f"a {self.type!r} part needs its `{self.type}` field")


class FunctionCall(msgspec.Struct):
    """A tool call's function name and JSON arguments."""

    name: Annotated[str, Meta(min_length=1, max_length=64)]
    arguments: str


class ToolCall(msgspec.Struct):
    """A tool call in an assistant message."""

    id: Annotated[str, Meta(min_length=1, max_length=256)]
    type: Literal["function"]
    function: FunctionCall


class ChatMessage(msgspec.Struct, kw_only=True, omit_defaults=True):
    """OpenAI's message shapes, checked here so that a malformed request is a 400, not an upstream failure."""

    role: Literal["system", "user", "assistant", "tool", "developer"]
    content: str | Annotated[list[ContentPart], Meta(min_length=1)] | None = None
    name: Annotated[str, Meta(max_length=64)] | None = None
    tool_call_id: Annotated[str, Meta(min_length=1, max_length=256)] | None = None
    tool_calls: Annotated[list[ToolCall], Meta(min_length=1)] | None = None

    def __post_init__(self) -> None:
        if self.role == "assistant":
            if self.content is None and self.tool_calls is None:
                raise ValueError("an assistant message needs `content` or `tool_calls`")
        elif self.content is None:
            raise ValueError(f"a {self.role} message needs `content`")
        if self.role == "tool" and self.tool_call_id is None:
            raise ValueError("a tool message needs `tool_call_id`")


class ChatRequest(msgspec.Struct, kw_only=True):
    """What the proxy reads of an OpenAI chat completion request; other fields pass through upstream."""

    model: Annotated[str, Meta(min_length=1, max_length=256)]  # replaced by UNO_UPSTREAM_MODEL when set
    messages: Annotated[list[ChatMessage], Meta(min_length=1, max_length=MAX_MESSAGES)]
    stream: bool = False
    max_tokens: Annotated[int, Meta(ge=1)] | None = None
    max_completion_tokens: Annotated[int, Meta(ge=1)] | None = None
    temperature: Annotated[float, Meta(ge=0, le=2)] | None = None
    user: Id | None = None  # becomes the interaction's user_id
    namespace: Namespace | None = None  # UNO extension; or the X-UNO-Namespace header


def _text(content: str | list[ContentPart] | None) -> str:
    if isinstance(content, list):  # OpenAI content parts: keep the text ones
        return "\n".join(p.text or "" for p in content if p.type == "text")
    return content or ""


class ChatProxy:
    """``POST /v1/chat/completions``: see the module docstring."""

    def __init__(self, settings: Settings, metrics: Metrics, retrieve: Retrieve, send: Send, upstream_base_url: str):
        self.s = settings
        self.metrics = metrics
        self.retrieve = retrieve
        self.send = send
        self.upstream_base_url = upstream_base_url
        self.upstream = (
            async_openai_client(upstream_base_url, settings.upstream_api_key, settings.llm_timeout_s)
            if upstream_base_url
            else None
        )

    async def chat(self, request: web.Request) -> web.StreamResponse:
        if self.upstream is None:
            raise ApiError(503, "no upstream model: set UNO_UPSTREAM_BASE_URL or UNO_LLM_BASE_URL", "upstream_error")
        started = time.perf_counter()
        raw = await request.read()
        chat = await read_body(request, ChatRequest)
        payload = json.loads(raw)
        namespace = chat.namespace or request.headers.get(NAMESPACE_HEADER) or "default"
        try:
            namespace = msgspec.convert(namespace, Namespace)
        except msgspec.ValidationError as exc:
            raise ApiError(400, f"namespace: {exc}", param="namespace") from None
        require(request, namespace, "write")
        # forward the validated messages (explicit nulls dropped) and the other fields that are set
        payload = {k: v for k, v in payload.items() if v is not None}
        messages = payload["messages"] = msgspec.to_builtins(chat.messages)
        query = next((_text(m.content) for m in reversed(chat.messages) if m.role == "user"), "")
        found = await self.retrieve(namespace, query) if query.strip() else Retrieval(None, None, "no_modules", [])
        self.metrics.proxy_seconds.labels("retrieve").observe(time.perf_counter() - started)

        module = found.module
        event_id = f"chatcmpl-uno-{uuid.uuid4().hex}"
        headers = {
            "X-UNO-Event-Id": event_id,
            "X-UNO-Retrieval": found.reason,
            "X-UNO-Module": f"{module.key}@{module.version}:{module.kind.value}" if module else "none",
        }
        model: Name = self.s.upstream_model or (module.adapter if module and module.adapter else None) or chat.model
        max_tokens = min(chat.max_completion_tokens or chat.max_tokens or self.s.api_max_tokens, self.s.api_max_tokens)
        payload = {k: v for k, v in payload.items() if k not in ("namespace", "max_completion_tokens")}
        payload.update(model=model, max_tokens=max_tokens)

        upstream_start = time.perf_counter()
        if module is not None and module.kind is ModuleKind.REFLECTIVE and self.s.reflective_mode == "reflect":
            answer = await self._reflect(module, messages, model, max_tokens)
            response = _completion(event_id, model, answer)
            self.metrics.proxy_seconds.labels("upstream").observe(time.perf_counter() - upstream_start)
            out = (
                await self._stream_text(request, headers, response)
                if chat.stream
                else json_response(response, headers=headers)
            )
        else:
            if module is not None:
                payload["messages"] = module_messages(module, messages)
            out, answer = await (
                self._stream_upstream(request, headers, payload, event_id)
                if chat.stream
                else self._forward(payload, headers, event_id)
            )
            self.metrics.proxy_seconds.labels("upstream").observe(time.perf_counter() - upstream_start)

        if not query.strip():
            return out  # no user text: nothing to learn from, so no interaction event
        emit_start = time.perf_counter()
        event = InteractionEvent(
            event_id=event_id,
            timestamp=time.time(),
            namespace=namespace,
            user_id=chat.user,
            model=model,
            messages=[Message(m.role, _text(m.content)[:MAX_TEXT]) for m in chat.messages if _text(m.content)],
            query=query[:MAX_TEXT],
            response=answer[:MAX_TEXT],
            metadata={
                "uno_retrieval": found.reason,
                **({"uno_module": f"{module.key}@{module.version}"} if module else {}),
            },
        )
        await self.send("interactions", namespace, encode(event))
        self.metrics.proxy_seconds.labels("emit").observe(time.perf_counter() - emit_start)
        self.metrics.proxy_seconds.labels("total").observe(time.perf_counter() - started)
        return out

    async def _reflect(self, module: ExperienceModule, messages: list[dict], model: str, max_tokens: int) -> str:
        llm = ChatLLM(
            self.upstream_base_url,
            model,
            api_key=self.s.upstream_api_key,
            json_mode="none",
            timeout_s=self.s.llm_timeout_s,
            max_retries=1,
            ledger=UsageLedger(self.metrics.observe_llm),
        )
        try:
            _draft, _critique, revised = await asyncio.to_thread(reflect, llm, module, messages, max_tokens)
        except Exception as exc:
            self.metrics.upstream_errors.labels(type(exc).__name__).inc()
            raise ApiError(502, f"upstream model failed: {exc}", "upstream_error") from None
        return revised

    async def _call_upstream(self, payload: dict):
        """The upstream completion (or stream); an upstream 4xx keeps its status, anything else is a 502."""
        try:
            # Fields pass through as the client sent them (extra_body): the SDK's keyword arguments would
            # refuse a field it does not know, which the OpenAI API itself may accept.
            core = {k: payload[k] for k in ("model", "messages", "stream") if k in payload}
            extra = {k: v for k, v in payload.items() if k not in core}

            async def create():  # a coroutine function: the SDK's method does not look like one to tenacity
                return await self.upstream.chat.completions.create(**core, extra_body=extra)

            return await async_retrying(2)(create)
        except openai.APIStatusError as exc:
            self.metrics.upstream_errors.labels(f"http_{exc.status_code}").inc()
            status = exc.status_code if 400 <= exc.status_code < 500 and exc.status_code != 401 else 502
            raise ApiError(status, f"upstream model: {exc.message}", "upstream_error") from None
        except openai.APIError as exc:
            self.metrics.upstream_errors.labels(type(exc).__name__).inc()
            raise ApiError(502, f"upstream model unreachable: {exc}", "upstream_error") from None

    async def _forward(self, payload: dict, headers: dict, event_id: str) -> tuple[web.Response, str]:
        resp = await self._call_upstream(payload)
        body = resp.model_dump(exclude_none=True)
        body["id"] = event_id
        answer = resp.choices[0].message.content or "" if resp.choices else ""
        return json_response(body, headers=headers), answer

    async def _open_stream(self, request: web.Request, headers: dict) -> web.StreamResponse:
        out = web.StreamResponse(headers={**headers, "Content-Type": "text/event-stream", "Cache-Control": "no-cache"})
        await out.prepare(request)
        return out

    async def _stream_upstream(
        self, request: web.Request, headers: dict, payload: dict, event_id: str
    ) -> tuple[web.StreamResponse, str]:
        stream = await self._call_upstream(payload)  # before the 200: a refusal is still a plain JSON error
        out = await self._open_stream(request, headers)
        parts: list[str] = []
        try:
            async for chunk in stream:
                body = chunk.model_dump(exclude_none=True)
                body["id"] = event_id
                if chunk.choices and chunk.choices[0].delta.content:
                    parts.append(chunk.choices[0].delta.content)
                await out.write(b"data: " + msgspec.json.encode(body) + b"\n\n")
        except openai.APIError as exc:  # mid-stream: the status is sent, so report in-band
            self.metrics.upstream_errors.labels(type(exc).__name__).inc()
            await out.write(
                b"data: " + msgspec.json.encode(ErrorBody(ErrorDetail(str(exc), "upstream_error"))) + b"\n\n"
            )
        await out.write(b"data: [DONE]\n\n")
        await out.write_eof()
        return out, "".join(parts)

    async def _stream_text(self, request: web.Request, headers: dict, completion: dict) -> web.StreamResponse:
        """A finished answer (reflect mode revises before it can say anything) as OpenAI stream chunks."""
        out = await self._open_stream(request, headers)
        base = {k: completion[k] for k in ("id", "created", "model")} | {"object": "chat.completion.chunk"}
        text = completion["choices"][0]["message"]["content"]
        for delta, finish in (({"role": "assistant", "content": text}, None), ({}, "stop")):
            chunk = base | {"choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
            await out.write(b"data: " + msgspec.json.encode(chunk) + b"\n\n")
        await out.write(b"data: [DONE]\n\n")
        await out.write_eof()
        return out


def _completion(event_id: str, model: str, text: str) -> dict:
    return {
        "id": event_id,
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
    }
