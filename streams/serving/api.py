"""The worker's HTTP API: health, metrics, the OpenAPI document, clusters, modules (list, history,
rollback), retrieval and feedback; the OpenAI-compatible chat proxy (`streams.serving.proxy`) is
mounted beside them.

It is served by the worker process, on Faust's own aiohttp server (``web_port``): with Qdrant local
mode exactly one process may open the store, and that is the worker. Requests and responses are
msgspec Structs (`uno_models.api`); `streams.serving.openapi` derives the OpenAPI 3.1 document from
them, so the schema cannot drift from the code. Errors are JSON ``{"error": {"message", "type",
"param"}}``, OpenAI's shape, so the official client raises them as typed exceptions.

Imports: the contract, the processors, and the worker's metrics; never the dev stack or evaluation.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Awaitable, Callable

import msgspec
from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST

from processors.retrieve import Retrieval, Retriever
from processors.store import ModuleStore
from streams.serving.http import ApiError, json_response, read_body, require
from streams.serving.openapi import openapi
from streams.serving.proxy import ChatProxy
from streams.worker.metrics import Metrics
from uno_models import FeedbackEvent, Settings, encode
from uno_models.api import (
    Candidate,
    FeedbackAccepted,
    ModuleDetail,
    ModuleList,
    RetrieveRequest,
    RetrieveResponse,
    RollbackRequest,
)

log = logging.getLogger(__name__)

Send = Callable[[str, str, bytes], Awaitable[None]]


class Api:
    """The routes of the serving API; `routes()` is what the worker mounts on its web server."""

    def __init__(
        self,
        settings: Settings,
        metrics: Metrics,
        store: ModuleStore,
        retriever: Retriever,
        send: Send,
        clusters: Callable[[str], list[dict]],
        upstream_base_url: str,
        topics: dict[str, str],
        rules_mode: str = "extractive",
        emit: Send | None = None,
        evidence: Callable[[str], list[dict]] = lambda _namespace: [],
    ):
        self.s = settings
        self.metrics = metrics
        self.store = store
        self.retriever = retriever
        self.send = send
        self.clusters = clusters
        self.evidence = evidence
        self.topics = topics
        self.rules_mode = rules_mode
        self.status: Callable[[], dict] = lambda: {"live": True, "ready": True}  # the worker sets its own
        # The proxy's interaction event is queued in the producer, not awaited: the answer does not wait
        # for the broker (the producer's buffer is bounded and flushed when the worker stops).
        upstream = settings.upstream_base_url or upstream_base_url
        self.proxy = ChatProxy(settings, metrics, self._retrieve, emit or send, upstream)

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/healthz", self.health),
            web.get("/readyz", self.ready),
            web.get("/metrics", self.prometheus),
            web.get("/openapi.json", self.openapi),
            web.get("/v1/clusters", self.list_clusters),
            web.get("/v1/modules", self.list_modules),
            web.get("/v1/evidence", self.list_evidence),
            web.get("/v1/modules/{namespace}/{cluster}", self.module),
            web.post("/v1/modules/{namespace}/{cluster}/rollback", self.rollback),
            web.post("/v1/retrieve", self.retrieve),
            web.post("/v1/feedback", self.feedback),
            web.post("/v1/chat/completions", self.proxy.chat),
        ]

    async def health(self, request: web.Request) -> web.Response:
        """Liveness: 503 when an agent crashed in the last minute (restart the worker)."""
        state = self.status()
        body = {"status": "ok" if state["live"] else "failing", "time": time.time(), "rules": self.rules_mode}
        return json_response(body | state, status=200 if state["live"] else 503)

    async def ready(self, request: web.Request) -> web.Response:
        """Readiness: 503 while tables recover or a rebalance runs (or while /healthz fails)."""
        state = self.status()
        return json_response(
            {"status": "ready" if state["ready"] else "not_ready"} | state, status=200 if state["ready"] else 503
        )

    async def prometheus(self, request: web.Request) -> web.Response:
        return web.Response(body=self.metrics.exposition(), content_type=CONTENT_TYPE_LATEST.split(";")[0])

    async def openapi(self, request: web.Request) -> web.Response:
        return json_response(openapi())

    async def list_clusters(self, request: web.Request) -> web.Response:
        namespace = request.query.get("namespace")
        if not namespace:
            raise ApiError(400, "the namespace query parameter is required", param="namespace")
        require(request, namespace)
        return json_response({"namespace": namespace, "clusters": self.clusters(namespace)})

    async def list_evidence(self, request: web.Request) -> web.Response:
        """Admin: every rule of the namespace with the (pseudonymous) users and statements behind it."""
        namespace = request.query.get("namespace")
        if not namespace:
            raise ApiError(400, "the namespace query parameter is required", param="namespace")
        require(request, namespace, "admin")
        return json_response({"namespace": namespace, "rules": self.evidence(namespace)})

    async def list_modules(self, request: web.Request) -> web.Response:
        namespace = request.query.get("namespace") or None
        require(request, namespace)
        modules = await asyncio.to_thread(self.store.list, namespace)
        return json_response(ModuleList(modules))

    def _cluster(self, request: web.Request) -> tuple[str, int]:
        cluster = request.match_info["cluster"]
        if not (cluster.isascii() and cluster.isdigit()) or len(cluster) > 9:  # "²".isdigit() is True
            raise ApiError(400, "cluster must be a non-negative integer", param="cluster")
        return request.match_info["namespace"], int(cluster)

    async def module(self, request: web.Request) -> web.Response:
        namespace, cluster = self._cluster(request)
        require(request, namespace)
        history = await asyncio.to_thread(self.store.history, namespace, cluster)
        if not history:
            raise ApiError(404, f"no module {namespace}/{cluster}", "not_found")
        return json_response(ModuleDetail(await asyncio.to_thread(self.store.get, namespace, cluster), history))

    async def rollback(self, request: web.Request) -> web.Response:
        namespace, cluster = self._cluster(request)
        require(request, namespace, "admin")
        body = await read_body(request, RollbackRequest)
        try:
            record = await asyncio.to_thread(self.store.rollback, namespace, cluster, body.version, time.time())
        except KeyError as exc:
            raise ApiError(404, str(exc.args[0]), "not_found") from None
        await self.send("modules", f"{namespace}/{cluster}", encode(record))  # the durable record too
        return json_response({"module": record.module})

    async def _retrieve(self, namespace: str, query: str, k: int = 1) -> Retrieval:
        """The query's module; with the embedder or the store failing, none (``unavailable``, counted):
        serving degrades to answers without a module, it never fails for this."""
        start = time.perf_counter()
        try:
            found = await asyncio.to_thread(self.retriever.retrieve, namespace, query, k)
        except Exception as err:
            log.warning("retrieval unavailable (%s): answering without a module", repr(err)[:300])
            found = Retrieval(None, None, "unavailable", [])
        self.metrics.retrieve_seconds.observe(time.perf_counter() - start)
        self.metrics.retrievals.labels(found.reason).inc()
        return found

    async def retrieve(self, request: web.Request) -> web.Response:
        body = await read_body(request, RetrieveRequest)
        require(request, body.namespace)
        found = await self._retrieve(body.namespace, body.query, body.k)
        candidates = [Candidate(m, s) for m, s in found.candidates] if found.reason == "hit" else []
        return json_response(RetrieveResponse(found.module, found.similarity, found.reason, candidates))

    async def feedback(self, request: web.Request) -> web.Response:
        event = await read_body(request, FeedbackEvent)
        require(request, event.namespace, "write")
        if event.feedback_id is None:
            event = msgspec.structs.replace(event, feedback_id=uuid.uuid4().hex)
        if event.timestamp is None:
            event = msgspec.structs.replace(event, timestamp=time.time())
        await self.send("feedback", event.namespace, encode(event))
        return json_response(FeedbackAccepted(event.event_id, event.feedback_id, self.topics["feedback"]), 202)
