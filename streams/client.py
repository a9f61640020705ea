"""The thin Python client of a worker's HTTP API: the one HTTP client the CLI, the demo, the
evaluation, the benchmarks and the tests use.

Imports: the contract (`uno_models`) and httpx; ``openai()`` imports the official client lazily.

>>> uno = UnoClient("http://127.0.0.1:6066", namespace="legal")      # doctest: +SKIP
>>> uno.retrieve("Can my landlord evict me?").reason                  # doctest: +SKIP
'hit'
>>> chat = uno.openai()   # an openai.OpenAI pointed at the proxy        # doctest: +SKIP
>>> reply = chat.chat.completions.create(model="any", messages=[])     # doctest: +SKIP
>>> uno.feedback(reply.id, kind="thumbs", value=1)                     # doctest: +SKIP
"""

from __future__ import annotations

import os
from typing import Any

import httpx
import msgspec

from uno_models import ExperienceModule, FeedbackEvent, FeedbackKind, encode
from uno_models.api import NAMESPACE_HEADER, FeedbackAccepted, ModuleDetail, ModuleList, RetrieveResponse


class UnoError(RuntimeError):
    """The API answered an error: ``status`` and the server's message."""

    def __init__(self, status: int, message: str):
        super().__init__(f"HTTP {status}: {message}")
        self.status = status


class UnoClient:
    """A client for one worker. ``token`` defaults to ``UNO_API_TOKEN`` from the environment (never
    hard-code it); ``httpx.TransportError`` means no worker answered."""

    def __init__(self, base_url: str, namespace: str = "default", token: str | None = None, timeout: float = 120.0):
        self.base_url = base_url.rstrip("/")
        self.namespace = namespace
        self.token = os.environ.get("UNO_API_TOKEN", "") if token is None else token
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        self._http = httpx.Client(base_url=self.base_url, headers=headers, timeout=timeout)

    # ------------------------------------------------------------------ serving

    def retrieve(self, query: str, k: int = 1, namespace: str | None = None) -> RetrieveResponse:
        body = msgspec.json.encode({"query": query, "namespace": namespace or self.namespace, "k": k})
        return msgspec.json.decode(self._request("POST", "/v1/retrieve", body), type=RetrieveResponse)

    def feedback(
        self,
        event_id: str,
        kind: str | FeedbackKind,
        value: float | None = None,
        text: str | None = None,
        namespace: str | None = None,
        **fields,
    ) -> FeedbackAccepted:
        """Feedback on an interaction, by the event id the proxy returned (the completion's ``id``)."""
        event = FeedbackEvent(
            event_id=event_id,
            kind=FeedbackKind(kind),
            value=value,
            text=text,
            namespace=namespace or self.namespace,
            **fields,
        )
        return msgspec.json.decode(self._request("POST", "/v1/feedback", encode(event)), type=FeedbackAccepted)

    def openai(self, **kwargs):
        """The official client, pointed at the proxy: a drop-in for an existing ``openai.OpenAI``."""
        import openai

        return openai.OpenAI(
            base_url=f"{self.base_url}/v1",
            api_key=self.token or "none",
            default_headers={NAMESPACE_HEADER: self.namespace},
            **kwargs,
        )

    # ------------------------------------------------------------------ operators

    def clusters(self, namespace: str | None = None) -> list[dict[str, Any]]:
        """The namespace's clusters as the worker holds them (logs, pending, refreshes, aliases)."""
        query = {"namespace": namespace or self.namespace}
        return msgspec.json.decode(self._request("GET", "/v1/clusters", params=query))["clusters"]

    def evidence(self, namespace: str | None = None) -> list[dict[str, Any]]:
        """Admin: the namespace's rules with the pseudonymous users and statements behind them."""
        query = {"namespace": namespace or self.namespace}
        return msgspec.json.decode(self._request("GET", "/v1/evidence", params=query))["rules"]

    def modules(self, namespace: str | None = None) -> list[ExperienceModule]:
        """Current modules, of one namespace or (``namespace=""``) of all."""
        ns = self.namespace if namespace is None else namespace
        raw = self._request("GET", "/v1/modules", params={"namespace": ns} if ns else None)
        return msgspec.json.decode(raw, type=ModuleList).modules

    def module(self, namespace: str, cluster_id: int) -> ModuleDetail:
        return msgspec.json.decode(self._request("GET", f"/v1/modules/{namespace}/{cluster_id}"), type=ModuleDetail)

    def rollback(self, namespace: str, cluster_id: int, version: int) -> ExperienceModule:
        body = msgspec.json.encode({"version": version})
        raw = self._request("POST", f"/v1/modules/{namespace}/{cluster_id}/rollback", body)
        return msgspec.json.decode(raw, type=dict[str, ExperienceModule])["module"]

    def metrics_text(self) -> str:
        """The Prometheus exposition of ``/metrics``."""
        return self._request("GET", "/metrics").decode()

    def get(self, path: str) -> Any:
        """Any JSON route, decoded to builtins."""
        return msgspec.json.decode(self._request("GET", path))

    def close(self) -> None:
        self._http.close()

    def _request(self, method: str, path: str, body: bytes | None = None, params: dict | None = None) -> bytes:
        headers = {"Content-Type": "application/json"} if body is not None else None
        resp = self._http.request(method, path, content=body, params=params, headers=headers)
        if resp.status_code >= 400:
            try:
                message = resp.json()["error"]["message"]
            except Exception:
                message = resp.text
            raise UnoError(resp.status_code, message)
        return resp.content
