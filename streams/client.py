"""A small Python client for the worker's HTTP API.

>>> uno = UnoClient("http://127.0.0.1:6066", namespace="legal")      # doctest: +SKIP
>>> uno.retrieve("Can my landlord evict me?").reason                  # doctest: +SKIP
'hit'
>>> chat = uno.openai()   # an openai.OpenAI pointed at the proxy        # doctest: +SKIP
>>> reply = chat.chat.completions.create(model="any", messages=[{"role": "user", "content": "..."}])
>>> uno.feedback(reply.id, kind="thumbs", value=1)                     # doctest: +SKIP
"""

from __future__ import annotations

import os

import httpx
import msgspec
import openai

from streams.api import NAMESPACE_HEADER, FeedbackAccepted, RetrieveResponse
from uno_models import FeedbackEvent, FeedbackKind, encode


class UnoError(RuntimeError):
    def __init__(self, status: int, message: str):
        super().__init__(f"HTTP {status}: {message}")
        self.status = status


class UnoClient:
    """``token`` defaults to ``UNO_API_TOKEN`` from the environment (never hard-code it)."""

    def __init__(self, base_url: str, namespace: str = "default", token: str | None = None, timeout: float = 120.0):
        self.base_url = base_url.rstrip("/")
        self.namespace = namespace
        self.token = os.environ.get("UNO_API_TOKEN", "") if token is None else token
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        self._http = httpx.Client(base_url=self.base_url, headers=headers, timeout=timeout)

    def _post(self, path: str, body: bytes) -> bytes:
        resp = self._http.post(path, content=body, headers={"Content-Type": "application/json"})
        if resp.status_code >= 400:
            try:
                message = resp.json()["error"]["message"]
            except Exception:
                message = resp.text
            raise UnoError(resp.status_code, message)
        return resp.content

    def retrieve(self, query: str, k: int = 1, namespace: str | None = None) -> RetrieveResponse:
        body = msgspec.json.encode({"query": query, "namespace": namespace or self.namespace, "k": k})
        return msgspec.json.decode(self._post("/v1/retrieve", body), type=RetrieveResponse)

    def feedback(self, event_id: str, kind: str | FeedbackKind, value: float | None = None, text: str | None = None,
                 namespace: str | None = None, **fields) -> FeedbackAccepted:  # fmt: skip
        """Feedback on an interaction, by the event id the proxy returned (the completion's ``id``)."""
        event = FeedbackEvent(event_id=event_id, kind=FeedbackKind(kind), value=value, text=text,
                              namespace=namespace or self.namespace, **fields)  # fmt: skip
        return msgspec.json.decode(self._post("/v1/feedback", encode(event)), type=FeedbackAccepted)

    def openai(self, **kwargs) -> openai.OpenAI:
        """The official client, pointed at the proxy: a drop-in for an existing ``openai.OpenAI``."""
        return openai.OpenAI(base_url=f"{self.base_url}/v1", api_key=self.token or "none",
                             default_headers={NAMESPACE_HEADER: self.namespace}, **kwargs)  # fmt: skip

    def close(self) -> None:
        self._http.close()
