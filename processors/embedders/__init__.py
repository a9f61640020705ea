"""Embedders: one file per provider, all behind the `Embedder` protocol.

A provider is added by adding a file and one line in `PROVIDERS`.
"""

from __future__ import annotations

from collections.abc import Callable

from processors.embedders.base import Embedder, normalise
from uno_models import Settings


def _usem3(settings: Settings, spare_cpus: int) -> Embedder:
    from processors.embedders.usem3 import USEm3Embedder

    return USEm3Embedder(max_chars=settings.embed_max_chars, spare_cpus=spare_cpus)


def _minilm(settings: Settings, spare_cpus: int) -> Embedder:
    from processors.embedders.minilm import MiniLMEmbedder

    return MiniLMEmbedder()


def _openai(settings: Settings, spare_cpus: int) -> Embedder:
    from processors.embedders.openai_compat import OpenAIEmbedder

    if not settings.embed_base_url or not settings.embed_model:
        raise ValueError("embedder 'openai' needs UNO_EMBED_BASE_URL and UNO_EMBED_MODEL")
    return OpenAIEmbedder(settings.embed_base_url, settings.embed_model, settings.embed_api_key)


def _hashing(settings: Settings, spare_cpus: int) -> Embedder:
    from processors.embedders.hashing import HashingEmbedder

    return HashingEmbedder()


PROVIDERS: dict[str, Callable[[Settings, int], Embedder]] = {
    "usem3": _usem3,
    "minilm": _minilm,
    "openai": _openai,
    "hashing": _hashing,
}


def make_embedder(settings: Settings, spare_cpus: int = 0) -> Embedder:
    """The embedder the settings name. ``spare_cpus``: CPUs a multi-threaded model leaves to others
    (the worker's event loop, when the model runs in a process of its own)."""
    return PROVIDERS[settings.embedder](settings, spare_cpus)


__all__ = ["PROVIDERS", "Embedder", "make_embedder", "normalise"]
