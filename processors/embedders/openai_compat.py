"""Any OpenAI-compatible ``/v1/embeddings`` endpoint (OpenAI, vLLM, llama.cpp, Ollama)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from processors.embedders.base import normalise
from processors.retry import openai_client, retrying


class OpenAIEmbedder:
    """Embeds through the `openai` client, ``batch_size`` texts a request, transient failures retried
    under `processors.retry`; the dimension is learned from the first response.

    Example (needs a running server, so not a doctest)::

        embedder = OpenAIEmbedder("http://127.0.0.1:8081/v1", "nomic-embed-text")
        vectors = embedder.embed(["Lead with the conclusion.", "先说结论"])   # shape (2, embedder.dim)
    """

    def __init__(
        self,
        base_url: str,
        model: str,
        api_key: str = "",
        batch_size: int = 64,
        timeout_s: float = 60.0,
        max_retries: int = 3,
        dim: int | None = None,
    ):
        self._client = openai_client(base_url, api_key, timeout_s)
        self.model = model
        self.batch_size = batch_size
        self.attempts = max_retries + 1
        self.dim = dim or len(self._request(["dimension probe"])[0])
        self.id = f"openai:{model}-{self.dim}"

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        chunks = [self._request(list(texts[i : i + self.batch_size])) for i in range(0, len(texts), self.batch_size)]
        return normalise(np.vstack(chunks))

    def _request(self, texts: list[str]) -> np.ndarray:
        resp = retrying(self.attempts)(self._client.embeddings.create, model=self.model, input=texts)
        return np.array([_pooled(d.embedding) for d in sorted(resp.data, key=lambda d: d.index)], dtype=np.float32)


def _pooled(embedding) -> np.ndarray:
    # llama.cpp's server returns one vector per token for models without a pooling layer: mean-pool.
    vector = np.asarray(embedding, dtype=np.float32)
    return vector.mean(axis=0) if vector.ndim == 2 else vector
