"""Embedders: one file per provider, all behind the `Embedder` protocol.

A provider is added by adding a file and one line in `PROVIDERS`.
"""

from __future__ import annotations

from collections.abc import Callable

from processors.embedders.base import Embedder, normalise
from uno_models import Settings


def _usem3(settings: Settings, threads: int | None) -> Embedder:
    from processors.embedders.usem3 import USEm3Embedder

    return USEm3Embedder(max_chars=settings.embed_max_chars, threads=threads)


def _minilm(settings: Settings, threads: int | None) -> Embedder:
    from processors.embedders.minilm import MiniLMEmbedder

    return MiniLMEmbedder()


def _openai(settings: Settings, threads: int | None) -> Embedder:
    from processors.embedders.openai_compat import OpenAIEmbedder

    if not settings.embed_base_url or not settings.embed_model:
        raise ValueError("embedder 'openai' needs UNO_EMBED_BASE_URL and UNO_EMBED_MODEL")
    return OpenAIEmbedder(
        settings.embed_base_url, settings.embed_model, settings.embed_api_key, dim=settings.embed_dim or None
    )


def _hashing(settings: Settings, threads: int | None) -> Embedder:
    from processors.embedders.hashing import HashingEmbedder

    return HashingEmbedder()


PROVIDERS: dict[str, Callable[[Settings, int | None], Embedder]] = {
    "usem3": _usem3,
    "minilm": _minilm,
    "openai": _openai,
    "hashing": _hashing,
}


def make_embedder(settings: Settings, threads: int | None = None) -> Embedder:
    """The embedder the settings name. ``threads``: the BLAS threads of a multi-threaded model (by
    default `blas_threads()`; fewer when the model runs in several processes of its own)."""
    return PROVIDERS[settings.embedder](settings, threads)


__all__ = ["PROVIDERS", "Embedder", "make_embedder", "normalise"]
