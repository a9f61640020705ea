"""Any OpenAI-compatible ``/v1/embeddings`` endpoint (OpenAI, vLLM, llama.cpp, Ollama)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from processors.embedders.base import normalise
from processors.retry import openai_client, retrying


class OpenAIEmbedder:
    """Embeds through the `openai` client, ``batch_size`` texts a request, transient failures retried
    under `processors.retry`. The dimension is ``dim`` (``UNO_EMBED_DIM``) or asked of the endpoint at
    start, which must then answer: given, a worker starts while the endpoint is down.

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
        self.dim = dim or self._probe(base_url)
        self.id = f"openai:{model}-{self.dim}"

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        chunks = [self._request(list(texts[i : i + self.batch_size])) for i in range(0, len(texts), self.batch_size)]
        vectors = np.vstack(chunks)
        if vectors.shape[1] != self.dim:
            raise ValueError(
                f"the embeddings endpoint returned {vectors.shape[1]}-d vectors, not {self.dim} (UNO_EMBED_DIM)"
            )
        return normalise(vectors)

    def _probe(self, base_url: str) -> int:
        try:
            return len(self._request(["dimension probe"])[0])
        except Exception as err:
            raise RuntimeError(
                f"the embeddings endpoint {base_url} did not answer the dimension probe ({type(err).__name__}: "
                f"{str(err)[:200]}); set UNO_EMBED_DIM to start without asking it"
            ) from err

    def _request(self, texts: list[str]) -> np.ndarray:
        resp = retrying(self.attempts)(self._client.embeddings.create, model=self.model, input=texts)
        return np.array([_pooled(d.embedding) for d in sorted(resp.data, key=lambda d: d.index)], dtype=np.float32)


def _pooled(embedding) -> np.ndarray:
    # llama.cpp's server returns one vector per token for models without a pooling layer: mean-pool.
    vector = np.asarray(embedding, dtype=np.float32)
    return vector.mean(axis=0) if vector.ndim == 2 else vector
