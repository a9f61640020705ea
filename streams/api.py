"""The worker's HTTP surface: health, metrics, clusters, modules, retrieval, feedback and an
OpenAI-compatible chat proxy that applies modules and logs each interaction back to Kafka.

It is served by the worker process, on Faust's own aiohttp server (``web_port``): with Qdrant local
mode exactly one process may open the store, and that is the worker. Requests and responses are
msgspec Structs; `openapi()` derives the OpenAPI 3.1 document from them, so the schema cannot drift
from the code. Errors are JSON ``{"error": {"message", "type", "param"}}``, OpenAI's shape, so the
official client raises them as typed exceptions.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, Literal

import msgspec
import openai
from aiohttp import web
from msgspec import Meta
from prometheus_client import CONTENT_TYPE_LATEST

from processors.apply import module_messages, reflect
from processors.llm import ChatLLM, UsageLedger
from processors.retrieve import Retrieval, Retriever
from processors.store import ModuleStore
from streams.metrics import Metrics
from uno_models import (
    ContractError,
    ExperienceModule,
    FeedbackEvent,
    InteractionEvent,
    Message,
    ModuleKind,
    Settings,
    decode,
    encode,
)
from uno_models.limits import MAX_MESSAGES, MAX_TEXT, Id, Name, Namespace

log = logging.getLogger(__name__)

Send = Callable[[str, str, bytes], Awaitable[None]]
NAMESPACE_HEADER = "X-UNO-Namespace"


# --- request and response bodies -------------------------------------------------------------


class RetrieveRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    query: Annotated[str, Meta(min_length=1, max_length=32_000)]
    namespace: Namespace = "default"
    k: Annotated[int, Meta(ge=1, le=20)] = 1


class Candidate(msgspec.Struct):
    module: ExperienceModule
    similarity: float


class RetrieveResponse(msgspec.Struct):
    module: ExperienceModule | None  # null when the query is out of range of every module
    similarity: float | None
    reason: Literal["hit", "out_of_range", "no_modules"]
    candidates: list[Candidate]  # up to k modules within range, best first


class ContentPart(msgspec.Struct, kw_only=True, omit_defaults=True):
    type: Literal["text", "image_url", "input_audio", "file"]
    text: str | None = None
    image_url: dict[str, Any] | None = None
    input_audio: dict[str, Any] | None = None
    file: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        if getattr(self, self.type) is None:
            raise ValueError(f"a {self.type!r} part needs its `{self.type}` field")


class FunctionCall(msgspec.Struct):
    name: Annotated[str, Meta(min_length=1, max_length=64)]
    arguments: str


class ToolCall(msgspec.Struct):
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


class FeedbackAccepted(msgspec.Struct):
    event_id: str
    feedback_id: str
    topic: str


class ModuleList(msgspec.Struct):
    modules: list[ExperienceModule]


class ModuleDetail(msgspec.Struct):
    module: ExperienceModule | None  # null when every version was rolled away
    history: list[ExperienceModule]


class RollbackRequest(msgspec.Struct, forbid_unknown_fields=True):
    version: Annotated[int, Meta(ge=1)]


class ErrorDetail(msgspec.Struct):
    message: str
    type: str
    param: str | None = None


class ErrorBody(msgspec.Struct):
    error: ErrorDetail


class ApiError(Exception):
    def __init__(self, status: int, message: str, type_: str = "invalid_request_error", param: str | None = None):
        super().__init__(message)
        self.status, self.message, self.type, self.param = status, message, type_, param


def _json(obj: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(body=msgspec.json.encode(obj), status=status, content_type="application/json",
                        headers=headers)  # fmt: skip


def _error(status: int, message: str, type_: str, param: str | None = None) -> web.Response:
    return _json(ErrorBody(ErrorDetail(message, type_, param)), status)


async def _body(request: web.Request, type_: type):
    raw = await request.read()  # over client_max_size: aiohttp raises 413
    try:
        return decode(raw, type_)
    except ContractError as exc:
        raise ApiError(400, f"{exc.path}: {exc.reason}", param=exc.path) from None


# --- middleware: errors, auth --------------------------------------------------------------------

OPEN_PATHS = frozenset({"/healthz", "/openapi.json"})


def _middlewares(settings: Settings) -> list:
    token = settings.api_token

    @web.middleware
    async def errors(request: web.Request, handler):
        try:
            return await handler(request)
        except ApiError as exc:
            return _error(exc.status, exc.message, exc.type, exc.param)
        except web.HTTPRequestEntityTooLarge:
            return _error(413, f"request body over {settings.api_max_body_bytes} bytes (UNO_API_MAX_BODY_BYTES)",
                          "request_too_large")  # fmt: skip
        except web.HTTPException as exc:
            if exc.status < 400:
                raise
            return _error(exc.status, exc.reason or "error", "http_error")
        except Exception:
            log.exception("%s %s failed", request.method, request.path)
            return _error(500, "internal error (logged by the worker)", "server_error")

    @web.middleware
    async def auth(request: web.Request, handler):
        changes_state = request.method not in ("GET", "HEAD", "OPTIONS") and request.path != "/v1/retrieve"
        if token and request.path not in OPEN_PATHS and (changes_state or settings.api_auth_reads):
            header = request.headers.get("Authorization", "")
            if not hmac.compare_digest(header.encode(), f"Bearer {token}".encode()):
                return _error(401, "missing or wrong bearer token", "authentication_error")
        return await handler(request)

    return [errors, auth]


def web_options(settings: Settings) -> dict[str, Any]:
    """Options for Faust's aiohttp Application (`web_application_options`): size limit and middleware."""
    return {"client_max_size": settings.api_max_body_bytes, "middlewares": _middlewares(settings)}


# --- the routes --------------------------------------------------------------------------------


def _text(content: str | list[ContentPart] | None) -> str:
    if isinstance(content, list):  # OpenAI content parts: keep the text ones
        return "\n".join(p.text or "" for p in content if p.type == "text")
    return content or ""


class Api:
    def __init__(self, settings: Settings, metrics: Metrics, store: ModuleStore, retriever: Retriever, send: Send,
                 clusters: Callable[[str], list[dict]], upstream_base_url: str, topics: dict[str, str]):  # fmt: skip
        self.s = settings
        self.metrics = metrics
        self.store = store
        self.retriever = retriever
        self.send = send
        self.clusters = clusters
        self.topics = topics
        self.upstream_base_url = settings.upstream_base_url or upstream_base_url
        self.upstream = openai.AsyncOpenAI(base_url=self.upstream_base_url, api_key=settings.upstream_api_key or "none",
                                           timeout=settings.llm_timeout_s, max_retries=1)  # fmt: skip

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/healthz", self.health),
            web.get("/metrics", self.prometheus),
            web.get("/openapi.json", self.openapi),
            web.get("/v1/clusters", self.list_clusters),
            web.get("/v1/modules", self.list_modules),
            web.get("/v1/modules/{namespace}/{cluster}", self.module),
            web.post("/v1/modules/{namespace}/{cluster}/rollback", self.rollback),
            web.post("/v1/retrieve", self.retrieve),
            web.post("/v1/feedback", self.feedback),
            web.post("/v1/chat/completions", self.chat),
        ]

    async def health(self, request: web.Request) -> web.Response:
        return _json({"status": "ok", "time": time.time()})

    async def prometheus(self, request: web.Request) -> web.Response:
        return web.Response(body=self.metrics.exposition(), content_type=CONTENT_TYPE_LATEST.split(";")[0])

    async def openapi(self, request: web.Request) -> web.Response:
        return _json(openapi())

    async def list_clusters(self, request: web.Request) -> web.Response:
        namespace = request.query.get("namespace")
        if not namespace:
            raise ApiError(400, "the namespace query parameter is required", param="namespace")
        return _json({"namespace": namespace, "clusters": self.clusters(namespace)})

    async def list_modules(self, request: web.Request) -> web.Response:
        namespace = request.query.get("namespace") or None
        modules = await asyncio.to_thread(self.store.list, namespace)
        return _json(ModuleList(modules))

    def _cluster(self, request: web.Request) -> tuple[str, int]:
        cluster = request.match_info["cluster"]
        if not (cluster.isascii() and cluster.isdigit()) or len(cluster) > 9:  # "²".isdigit() is True
            raise ApiError(400, "cluster must be a non-negative integer", param="cluster")
        return request.match_info["namespace"], int(cluster)

    async def module(self, request: web.Request) -> web.Response:
        namespace, cluster = self._cluster(request)
        history = await asyncio.to_thread(self.store.history, namespace, cluster)
        if not history:
            raise ApiError(404, f"no module {namespace}/{cluster}", "not_found")
        return _json(ModuleDetail(await asyncio.to_thread(self.store.get, namespace, cluster), history))

    async def rollback(self, request: web.Request) -> web.Response:
        namespace, cluster = self._cluster(request)
        body = await _body(request, RollbackRequest)
        try:
            record = await asyncio.to_thread(self.store.rollback, namespace, cluster, body.version, time.time())
        except KeyError as exc:
            raise ApiError(404, str(exc.args[0]), "not_found") from None
        await self.send("modules", f"{namespace}/{cluster}", encode(record))  # the durable record too
        return _json({"module": record.module})

    async def _retrieve(self, namespace: str, query: str, k: int = 1) -> Retrieval:
        start = time.perf_counter()
        found = await asyncio.to_thread(self.retriever.retrieve, namespace, query, k)
        self.metrics.retrieve_seconds.observe(time.perf_counter() - start)
        self.metrics.retrievals.labels(found.reason).inc()
        return found

    async def retrieve(self, request: web.Request) -> web.Response:
        body = await _body(request, RetrieveRequest)
        found = await self._retrieve(body.namespace, body.query, body.k)
        candidates = [Candidate(m, s) for m, s in found.candidates] if found.reason == "hit" else []
        return _json(RetrieveResponse(found.module, found.similarity, found.reason, candidates))

    async def feedback(self, request: web.Request) -> web.Response:
        event = await _body(request, FeedbackEvent)
        if event.feedback_id is None:
            event = msgspec.structs.replace(event, feedback_id=uuid.uuid4().hex)
        if event.timestamp is None:
            event = msgspec.structs.replace(event, timestamp=time.time())
        await self.send("feedback", event.namespace, encode(event))
        return _json(FeedbackAccepted(event.event_id, event.feedback_id, self.topics["feedback"]), 202)

    # --- the proxy -------------------------------------------------------------------------------

    async def chat(self, request: web.Request) -> web.StreamResponse:
        started = time.perf_counter()
        raw = await request.read()
        chat = await _body(request, ChatRequest)
        payload = json.loads(raw)
        namespace = chat.namespace or request.headers.get(NAMESPACE_HEADER) or "default"
        try:
            namespace = msgspec.convert(namespace, Namespace)
        except msgspec.ValidationError as exc:
            raise ApiError(400, f"namespace: {exc}", param="namespace") from None
        # forward the validated messages (explicit nulls dropped) and the other fields that are set
        payload = {k: v for k, v in payload.items() if v is not None}
        messages = payload["messages"] = msgspec.to_builtins(chat.messages)
        query = next((_text(m.content) for m in reversed(chat.messages) if m.role == "user"), "")
        found = await self._retrieve(namespace, query) if query.strip() else Retrieval(None, None, "no_modules", [])
        self.metrics.proxy_seconds.labels("retrieve").observe(time.perf_counter() - started)

        module = found.module
        event_id = f"chatcmpl-uno-{uuid.uuid4().hex}"
        headers = {"X-UNO-Event-Id": event_id, "X-UNO-Retrieval": found.reason,
                   "X-UNO-Module": f"{module.key}@{module.version}:{module.kind.value}" if module else "none"}  # fmt: skip
        model: Name = self.s.upstream_model or (module.adapter if module and module.adapter else None) or chat.model
        max_tokens = min(chat.max_completion_tokens or chat.max_tokens or self.s.api_max_tokens, self.s.api_max_tokens)
        payload = {k: v for k, v in payload.items() if k not in ("namespace", "max_completion_tokens")}
        payload.update(model=model, max_tokens=max_tokens)

        upstream_start = time.perf_counter()
        if module is not None and module.kind is ModuleKind.REFLECTIVE and self.s.reflective_mode == "reflect":
            answer = await self._reflect(module, messages, model, max_tokens)
            response = _completion(event_id, model, answer)
            self.metrics.proxy_seconds.labels("upstream").observe(time.perf_counter() - upstream_start)
            out = await self._stream_text(request, headers, response) if chat.stream else _json(response, headers=headers)
        else:
            if module is not None:
                payload["messages"] = module_messages(module, messages)
            out, answer = await (self._stream_upstream(request, headers, payload, event_id) if chat.stream else
                                 self._forward(payload, headers, event_id))  # fmt: skip
            self.metrics.proxy_seconds.labels("upstream").observe(time.perf_counter() - upstream_start)

        if not query.strip():
            return out  # no user text: nothing to learn from, so no interaction event
        emit_start = time.perf_counter()
        event = InteractionEvent(
            event_id=event_id, timestamp=time.time(), namespace=namespace, user_id=chat.user, model=model,
            messages=[Message(m.role, _text(m.content)[:MAX_TEXT]) for m in chat.messages if _text(m.content)],
            query=query[:MAX_TEXT], response=answer[:MAX_TEXT],
            metadata={"uno_retrieval": found.reason, **({"uno_module": f"{module.key}@{module.version}"} if module else {})},
        )  # fmt: skip
        await self.send("interactions", namespace, encode(event))
        self.metrics.proxy_seconds.labels("emit").observe(time.perf_counter() - emit_start)
        self.metrics.proxy_seconds.labels("total").observe(time.perf_counter() - started)
        return out

    async def _reflect(self, module: ExperienceModule, messages: list[dict], model: str, max_tokens: int) -> str:
        llm = ChatLLM(self.upstream_base_url, model, api_key=self.s.upstream_api_key, json_mode="none",
                      timeout_s=self.s.llm_timeout_s, max_retries=1, ledger=UsageLedger(self.metrics.observe_llm))  # fmt: skip
        try:
            _draft, _critique, revised = await asyncio.to_thread(reflect, llm, module, messages, max_tokens)
        except Exception as exc:
            self.metrics.upstream_errors.labels(type(exc).__name__).inc()
            raise ApiError(502, f"upstream model failed: {exc}", "upstream_error") from None
        return revised

    async def _call_upstream(self, payload: dict):
        """The upstream completion (or stream); an upstream 4xx keeps its status, anything else is a 502."""
        try:
            return await self.upstream.chat.completions.create(**payload)
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
        return _json(body, headers=headers), answer

    async def _open_stream(self, request: web.Request, headers: dict) -> web.StreamResponse:
        out = web.StreamResponse(headers={**headers, "Content-Type": "text/event-stream", "Cache-Control": "no-cache"})
        await out.prepare(request)
        return out

    async def _stream_upstream(self, request: web.Request, headers: dict, payload: dict,
                               event_id: str) -> tuple[web.StreamResponse, str]:  # fmt: skip
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
            await out.write(b"data: " + msgspec.json.encode(ErrorBody(ErrorDetail(str(exc), "upstream_error"))) + b"\n\n")
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
    return {"id": event_id, "object": "chat.completion", "created": int(time.time()), "model": model,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}]}  # fmt: skip


# --- OpenAPI -----------------------------------------------------------------------------------


def openapi() -> dict[str, Any]:
    """The OpenAPI 3.1 document, its schemas generated from the Structs above."""
    types = [RetrieveRequest, RetrieveResponse, ChatRequest, FeedbackEvent, FeedbackAccepted, ModuleList,
             ModuleDetail, RollbackRequest, ErrorBody]  # fmt: skip
    (_, components) = msgspec.json.schema_components(types, ref_template="#/components/schemas/{name}")

    def ref(t: type) -> dict:
        return {"$ref": f"#/components/schemas/{t.__name__}"}

    def body(t: type) -> dict:
        return {"required": True, "content": {"application/json": {"schema": ref(t)}}}

    def ok(t: type | None, status: str = "200", extra: tuple[str, ...] = ()) -> dict:
        out: dict[str, Any] = {status: {"description": "OK"} | ({"content": {"application/json": {"schema": ref(t)}}}
                                                                  if t else {})}  # fmt: skip
        for code in ("400", "401", *extra):
            out[code] = {"description": "error", "content": {"application/json": {"schema": ref(ErrorBody)}}}
        return out

    cluster_params = [{"name": "namespace", "in": "path", "required": True, "schema": {"type": "string"}},
                      {"name": "cluster", "in": "path", "required": True, "schema": {"type": "integer", "minimum": 0}}]  # fmt: skip
    namespace_query = {"name": "namespace", "in": "query", "required": False, "schema": {"type": "string"}}
    chat_ok = ok(None, extra=("413", "502"))
    chat_ok["200"]["content"] = {"application/json": {"schema": {"type": "object"}},
                                 "text/event-stream": {"schema": {"type": "string"}}}  # fmt: skip
    plain = {"200": {"description": "OK", "content": {"application/json": {"schema": {"type": "object"}}}}}
    paths = {
        "/healthz": {"get": {"summary": "Liveness", "responses": plain}},
        "/metrics": {"get": {"summary": "Prometheus metrics", "responses": {
            "200": {"description": "OK", "content": {"text/plain": {"schema": {"type": "string"}}}}}}},
        "/v1/clusters": {"get": {"summary": "Clusters of a namespace", "parameters": [namespace_query | {"required": True}],
                                 "responses": plain | {"400": ok(None)["400"]}}},
        "/v1/modules": {"get": {"summary": "Current modules", "parameters": [namespace_query], "responses": ok(ModuleList)}},
        "/v1/modules/{namespace}/{cluster}": {"get": {"summary": "A module and its version history",
                                                      "parameters": cluster_params, "responses": ok(ModuleDetail, extra=("404",))}},
        "/v1/modules/{namespace}/{cluster}/rollback": {"post": {
            "summary": "Republish an earlier version as the newest", "parameters": cluster_params,
            "requestBody": body(RollbackRequest), "responses": plain | ok(None, extra=("404", "413"))}},
        "/v1/retrieve": {"post": {"summary": "The module for a query, or null with the reason",
                                  "requestBody": body(RetrieveRequest), "responses": ok(RetrieveResponse, extra=("413",))}},
        "/v1/feedback": {"post": {"summary": "Feedback on an interaction (to the feedback topic)",
                                  "requestBody": body(FeedbackEvent), "responses": ok(FeedbackAccepted, "202", ("413",))}},
        "/v1/chat/completions": {"post": {
            "summary": "OpenAI-compatible chat completion with the query's module applied",
            "parameters": [{"name": NAMESPACE_HEADER, "in": "header", "required": False, "schema": {"type": "string"}}],
            "requestBody": body(ChatRequest), "responses": chat_ok}},
    }  # fmt: skip
    return {
        "openapi": "3.1.0",
        "info": {"title": "UNO streaming worker API", "version": "1"},
        "components": {"schemas": components,
                       "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
        "security": [{}, {"bearer": []}],
        "paths": paths,
    }
