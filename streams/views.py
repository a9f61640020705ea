"""The worker's web views: health, metrics, and read/rollback access to the modules it owns.

With Qdrant local mode only the worker may open the store, so the CLI (`uno modules ...`) and
other processes read modules through these views. Rollback changes state: it requires the bearer
token when ``UNO_API_TOKEN`` is set.
"""

from __future__ import annotations

import hmac
import time
from collections.abc import Callable

import faust
from faust.web import Request, Response, View
from prometheus_client import CONTENT_TYPE_LATEST

from processors.store import ModuleStore
from streams.metrics import Metrics
from uno_models import Settings, encode, to_builtins


def authorised(request: Request, token: str) -> bool:
    if not token:
        return True
    header = request.headers.get("Authorization", "")
    return hmac.compare_digest(header.encode(), f"Bearer {token}".encode())


def register_views(app: faust.App, metrics: Metrics, store: ModuleStore, settings: Settings, send,
                   clusters: Callable[[str], list[dict]]) -> None:
    @app.page("/healthz")
    class Health(View):
        async def get(self, request: Request) -> Response:
            return self.json({"status": "ok", "time": time.time()})

    @app.page("/metrics")
    class MetricsView(View):
        async def get(self, request: Request) -> Response:
            return self.bytes(metrics.exposition(), content_type=CONTENT_TYPE_LATEST.split(";")[0])

    @app.page("/v1/clusters")
    class Clusters(View):
        async def get(self, request: Request) -> Response:
            namespace = request.query.get("namespace")
            if not namespace:
                return self.json({"error": "the namespace query parameter is required"}, status=400)
            return self.json({"namespace": namespace, "clusters": clusters(namespace)})

    @app.page("/v1/modules")
    class Modules(View):
        async def get(self, request: Request) -> Response:
            namespace = request.query.get("namespace")
            return self.json({"modules": [to_builtins(m) for m in store.list(namespace)]})

    @app.page("/v1/modules/{namespace}/{cluster}")
    class Module(View):
        async def get(self, request: Request, namespace: str, cluster: str) -> Response:
            if not cluster.isdigit():
                return self.json({"error": "cluster must be an integer"}, status=400)
            history = store.history(namespace, int(cluster))
            if not history:
                return self.json({"error": f"no module {namespace}/{cluster}"}, status=404)
            current = store.get(namespace, int(cluster))
            return self.json({"module": to_builtins(current), "history": [to_builtins(m) for m in history]})

    @app.page("/v1/modules/{namespace}/{cluster}/rollback")
    class Rollback(View):
        async def post(self, request: Request, namespace: str, cluster: str) -> Response:
            if not authorised(request, settings.api_token):
                return self.json({"error": "missing or wrong bearer token"}, status=401)
            body = await request.json()
            version = body.get("version") if isinstance(body, dict) else None
            if not isinstance(version, int) or not cluster.isdigit():
                return self.json({"error": "body must be {\"version\": <int>} and cluster an integer"}, status=400)
            try:
                record = store.rollback(namespace, int(cluster), version, time.time())
            except KeyError as exc:
                return self.json({"error": str(exc.args[0])}, status=404)
            await send("modules", f"{namespace}/{cluster}", encode(record))  # the durable record too
            return self.json({"module": to_builtins(record.module)})
