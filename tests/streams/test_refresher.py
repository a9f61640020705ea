"""The refresh side never loses a request: a broker that refuses outputs is retried, the batch is
recorded as applied only after its outputs are acknowledged, bad bytes go to the DLQ keyed by their
cluster, and a replayed request is skipped (pure logic over a dict and an in-memory Qdrant)."""

from __future__ import annotations

import asyncio
import json
import time

import msgspec
import pytest

from processors.embedders.hashing import HashingEmbedder
from processors.llm import LLMError
from processors.refresh import ClusterRefresh
from processors.store import ModuleStore, StoreUnavailableError
from streams.worker.app import make_refresh
from streams.worker.ingest import IngestHandler, Record, Source
from streams.worker.metrics import Metrics
from streams.worker.refresher import Refresher, adapt_scale
from tests.processors.fakes import ScriptedLLM
from tests.streams.conftest import TEST_SETTINGS
from tests.streams.sample import interactions
from uno_models import ClusterSnapshot, Feedback, FeedbackKind, LogRecord, ModulePublished, Settings, decode
from uno_models.stream import DeadLetter, RefreshRequest

SETTINGS = Settings(**TEST_SETTINGS)
EMBEDDER = HashingEmbedder(64)


def refresh_requests() -> list[tuple[str, bytes]]:
    sent: list = []

    async def send(role: str, key: str, value: bytes) -> None:
        sent.append((role, key, value))

    handler = IngestHandler(SETTINGS, EMBEDDER, {}, send, Metrics(), clock=lambda: 1.7e9)
    events = interactions("legal", n_legal=8)
    batch = [Record("interactions", json.dumps(e).encode(), Source("in", 0, i, b"legal")) for i, e in enumerate(events)]
    asyncio.run(handler.on_batch(batch))
    return [(k, v) for role, k, v in sent if role == "refresh"]


class Recorded(dict):
    """A table that notes its writes in the same log as the sends."""

    def __init__(self, log: list):
        super().__init__()
        self.log = log

    def __setitem__(self, k, v):
        self.log.append(("table", k))
        super().__setitem__(k, v)


class FullTable(Recorded):
    """A table whose writes fail as RocksDB's do on a full disk (tests/streams/test_rocksdb.py has the real one)."""

    def __init__(self, log: list, failures: int):
        super().__init__(log)
        self.failures = failures

    def __setitem__(self, k, v):
        if self.failures > 0:
            self.failures -= 1
            raise Exception("IO error: No space left on device: While appending to file: knowledge-0.db/000004.log")
        super().__setitem__(k, v)


class FullDisk(ModuleStore):
    """Raises as the store does while its disk is full (tests/processors/test_store.py has the real one)."""

    def __init__(self, failures: int):
        super().__init__(EMBEDDER.id, EMBEDDER.dim)
        self.failures = failures

    def publish(self, record):
        if self.failures > 0:
            self.failures -= 1
            raise StoreUnavailableError("module store: OperationalError: database or disk is full")
        return super().publish(record)


class Noted(ScriptedLLM):
    """An LLM whose every call is noted in the shared log and fails as a server that is down does (the
    refresh goes on without the step: the calls are what this test watches)."""

    def __init__(self, log: list, die: bool = False):
        super().__init__()
        self.log = log
        self.die = die  # the worker is killed during the first LLM call

    def _next(self, queue, purpose, messages):
        self.log.append(("llm", purpose, None))
        if self.die:
            raise Killed
        raise LLMError(purpose, "transport", 1, "connection refused")


class Killed(BaseException):
    pass


def refresher(log: list, refuse: int = 0, store: ModuleStore | None = None, llm=None, embedder=EMBEDDER) -> Refresher:
    refused = [refuse]

    async def deliver(role: str, key: str, value: bytes | None) -> None:
        if role != "dlq" and refused[0] > 0:
            refused[0] -= 1
            raise TimeoutError("not acknowledged")
        log.append((role, key, value))

    store = store or ModuleStore(EMBEDDER.id, EMBEDDER.dim)
    refresh = make_refresh(SETTINGS, "", embedder, store, Metrics())
    if llm is not None:  # the same filters and themes, with an LLM
        refresh = ClusterRefresh(
            llm, EMBEDDER, store, noise=refresh.noise, themes=refresh.themes, builder=refresh.builder
        )
    return Refresher(refresh, Recorded(log), deliver, Metrics(), max_backoff_s=0.01, concurrency=2)


def test_outputs_are_acknowledged_before_the_batch_is_recorded_and_a_refused_send_is_retried():
    requests = refresh_requests()
    assert requests
    log: list = []
    r = refresher(log, refuse=2)

    async def run():
        for offset, (k, raw) in enumerate(requests):
            await r.on_request(raw, 0, offset, k.encode())

    asyncio.run(run())
    modules = [i for i, entry in enumerate(log) if entry[0] == "modules"]
    recorded = [i for i, entry in enumerate(log) if entry[0] == "table"]
    assert modules and recorded and max(modules) < max(recorded)  # durable outputs first, then "applied"
    assert r.metrics.refresh_failures.labels("broker")._value.get() == 2
    before = len(log)
    asyncio.run(r.on_request(requests[0][1], 0, 0, requests[0][0].encode()))  # a replay after a crash
    assert len(log) == before and r.metrics.refreshes.labels("replayed")._value.get() == 1


def test_a_module_whose_rules_stop_passing_is_withdrawn_and_tombstoned():
    """A refresh that finds no publishable rule where the cluster had a module withdraws it from the
    store and sends a tombstone to the compacted modules topic, so a rebuild does not serve it again."""
    log: list = []
    store = ModuleStore(EMBEDDER.id, EMBEDDER.dim)
    r = refresher(log, store=store)
    centroid = EMBEDDER.embed(["Is a verbal contract binding?"])[0].tolist()
    snapshot = ClusterSnapshot(
        namespace="legal", cluster_id=0, embedder_id=EMBEDDER.id, centroid=centroid, query_centroid=centroid
    )

    def request(n: int, items: list[tuple[str, str]]) -> bytes:
        logs = []
        for i, (user, text) in enumerate(items):
            for j, fb in enumerate(
                (Feedback(kind=FeedbackKind.TEXT, text=text), Feedback(kind=FeedbackKind.THUMBS, value=1))
            ):
                logs.append(
                    LogRecord(
                        event_id=f"e{n}-{i}-{j}",
                        namespace="legal",
                        timestamp=1.7e9,
                        user_id=user,
                        query="q",
                        feedback=[fb],
                    )
                )
        return msgspec.msgpack.encode(
            RefreshRequest(
                namespace="legal",
                cluster_id=0,
                batch_id=f"b{n}",
                reason="count",
                snapshot=snapshot,
                logs=logs,
                requested_at=1.7e9,
            )
        )

    asking = [(f"u{i}", "Cite the statute article.") for i in range(3)]
    against = [(f"v{i}", "Don't cite the statute article.") for i in range(2)]
    for offset, raw in enumerate([request(0, asking), request(1, against)]):
        asyncio.run(r.on_request(raw, 0, offset, b"legal/0"))
    modules = [entry[2] for entry in log if entry[0] == "modules"]
    assert len(modules) == 2 and modules[0] is not None and modules[1] is None  # published, then a tombstone
    assert store.get("legal", 0) is None
    assert r.metrics.modules_withdrawn.labels("no_rules")._value.get() == 1
    assert r.metrics.refreshes.labels("withdrawn")._value.get() == 1


def test_a_store_that_cannot_write_is_retried_and_the_request_is_never_dead_lettered():
    """Before: a full disk under Qdrant local mode (sqlite3.OperationalError) was taken for a bug, and
    the refresh went to the DLQ; its module waited for someone to replay it."""
    requests = refresh_requests()
    log: list = []
    store = FullDisk(failures=3)
    r = refresher(log, store=store)
    asyncio.run(r.on_request(requests[0][1], 0, 0, requests[0][0].encode()))
    assert not [e for e in log if e[0] == "dlq"]
    assert [e for e in log if e[0] == "modules"] and store.list("legal")
    assert r.metrics.refresh_failures.labels("store")._value.get() == 3


class DyingEmbedder(HashingEmbedder):
    """Fails its first calls as the worker's embedder does when its child process is killed mid-call
    (`EmbedderProcessError`) and as a remote endpoint does after its retries (the `openai` client's
    connection error); tests/faults/test_embedder_outage.py kills the real children."""

    def __init__(self, failures: list[Exception]):
        super().__init__(64)
        self.failures = failures

    def embed(self, texts):
        if self.failures and (failure := self.failures.pop(0)) is not None:  # None: this call succeeds
            raise failure
        return super().embed(texts)


def test_an_embedder_failing_during_a_refresh_is_retried_and_the_request_is_never_dead_lettered():
    """Before: the refresher retried only the store's and the network's own exceptions; an embedder child
    killed during a refresh (`EmbedderProcessError`) or an embeddings endpoint down (`openai` errors)
    was taken for a bug, and the request went to the DLQ (found by the fault test that kills the
    children while the worker ingests and refreshes)."""
    import httpx
    import openai

    from processors.embedders.process import EmbedderProcessError

    request = httpx.Request("POST", "http://127.0.0.1:9/v1/embeddings")
    failures = [EmbedderProcessError("the embedder's process died"), openai.APIConnectionError(request=request)]
    requests = refresh_requests()
    log: list = []
    r = refresher(log, embedder=DyingEmbedder(failures))
    asyncio.run(r.on_request(requests[0][1], 0, 0, requests[0][0].encode()))
    assert not [e for e in log if e[0] == "dlq"]
    assert [e for e in log if e[0] == "modules"]
    assert r.metrics.refresh_failures.labels("embedder")._value.get() == 2


def test_an_embedder_failing_while_the_injection_probe_embeds_its_prototypes_is_retried_too():
    """The probe embeds its prototypes on the first refresh that has statements, after their cores: a
    failure there is the embedder's too, retried; the prototypes are embedded again next time."""
    from processors.embedders.process import EmbedderProcessError

    requests = refresh_requests()
    log: list = []
    r = refresher(log, embedder=DyingEmbedder([None, EmbedderProcessError("the embedder's process died")]))
    r.refresh.themes.probe.enabled = True  # as with a multilingual embedder (off for the hashing one)
    asyncio.run(r.on_request(requests[0][1], 0, 0, requests[0][0].encode()))
    assert not [e for e in log if e[0] == "dlq"] and [e for e in log if e[0] == "modules"]
    assert r.metrics.refresh_failures.labels("embedder")._value.get() == 1
    assert r.refresh.themes.probe._prototypes is not None


def test_a_table_that_cannot_write_is_retried_and_the_request_is_neither_lost_nor_dead_lettered():
    """Before: the knowledge write raised out of the agent (Faust acknowledged the request; its
    supervisor restarted the agent until it gave up and the worker exited)."""
    requests = refresh_requests()
    log: list = []
    r = refresher(log)
    r.knowledge.table = FullTable(log, failures=3)
    asyncio.run(r.on_request(requests[0][1], 0, 0, requests[0][0].encode()))
    assert [e[0] for e in log if e[0] != "pairs"] == ["modules", "table"]  # published once, recorded once
    assert r.metrics.refresh_failures.labels("state")._value.get() == 3
    asyncio.run(r.on_request(requests[0][1], 0, 0, requests[0][0].encode()))  # redelivered: a replay
    assert r.metrics.refreshes.labels("replayed")._value.get() == 1


def test_a_request_that_cannot_be_decoded_is_dead_lettered_with_its_cluster_key():
    log: list = []
    r = refresher(log)
    asyncio.run(r.on_request(b"\x93not a request", 1, 7, b"legal/3"))
    role, key, value = log[0]
    letter = msgspec.json.decode(value, type=DeadLetter)
    assert (role, key, letter.key, letter.reason) == ("dlq", "legal/3", b"legal/3", "malformed")
    assert (letter.partition, letter.offset) == (1, 7)


def test_two_requests_of_one_cluster_never_run_at_once():
    requests = refresh_requests()
    log: list = []
    r = refresher(log)
    running, overlap = set(), []
    real = r._handle

    async def handle(request, k, *args, **kwargs):
        overlap.append(k in running)
        running.add(k)
        await asyncio.sleep(0.01)
        try:
            return await real(request, k, *args, **kwargs)
        finally:
            running.discard(k)

    r._handle = handle
    raw = requests[0][1]

    async def run():
        await asyncio.gather(r.on_request(raw, 0, 0), r.on_request(raw, 0, 1), r.on_request(raw, 0, 2))

    asyncio.run(run())
    assert overlap == [False, False, False] and not r._locks


def test_refreshes_grow_while_requests_queue_and_shrink_back():
    scale, seen = 1, []
    for waited in (90, 90, 90, 90, 30, 5, 5, 5):  # seconds a request waited; the target is 60 s
        scale = adapt_scale(scale, waited, 60.0)
        seen.append(scale)
    assert seen == [2, 4, 8, 8, 8, 4, 2, 1]
    # ingest asks for a refresh after refresh_min_logs x scale logs
    handler = IngestHandler(SETTINGS, EMBEDDER, {}, lambda *a: asyncio.sleep(0), Metrics(), clock=lambda: 1.7e9)
    handler.core.refresh_scale = lambda: 2
    sent: list = []

    async def send(role, key, value):
        sent.append(role)

    handler.send = send
    events = interactions("legal", n_legal=8)
    batch = [Record("interactions", json.dumps(e).encode(), Source("in", 0, i, b"legal")) for i, e in enumerate(events)]
    asyncio.run(handler.on_batch(batch[: SETTINGS.refresh_min_logs]))
    assert "refresh" not in sent  # refresh_min_logs logs no longer suffice
    asyncio.run(handler.on_batch(batch[SETTINGS.refresh_min_logs : 2 * SETTINGS.refresh_min_logs]))
    assert "refresh" in sent


def test_a_clusters_first_module_is_served_from_the_users_words_before_any_llm_call():
    (k, raw), *_ = refresh_requests()
    request = msgspec.msgpack.decode(raw, type=RefreshRequest)
    log: list = []
    r = refresher(log, llm=Noted(log))
    asyncio.run(r.on_request(raw, 0, 0, k.encode()))
    roles = [entry[0] for entry in log]
    modules = [decode(entry[2], ModulePublished) for entry in log if entry[0] == "modules"]
    assert roles[0] == "modules" and "llm" in roles and roles[-1] == "table"  # preview, LLM steps, applied
    assert [m.module.version for m in modules] == [1, 2] and r.metrics.module_previews._value.get() == 1
    assert all(m.batch_id == request.batch_id for m in modules)
    evidence = {e.lower() for rule in modules[0].module.rules for e in rule.evidence}
    assert modules[0].module.rules and all(
        rule.text.lower().rstrip(".") in str(evidence) for rule in modules[0].module.rules
    )

    # Killed after the preview, before the batch was recorded: the replay finds the module in the store
    # and publishes the next version only (a module per version, none twice).
    killed: list = []
    dying = refresher(killed, llm=Noted(killed, die=True))
    with pytest.raises(Killed):
        asyncio.run(dying.on_request(raw, 0, 0, k.encode()))
    assert [e[0] for e in killed] == ["modules", "llm"]
    replayed: list = []
    again = refresher(replayed, store=dying.refresh.store, llm=Noted(replayed))
    asyncio.run(again.on_request(raw, 0, 0, k.encode()))
    assert [decode(e[2], ModulePublished).module.version for e in replayed if e[0] == "modules"] == [2]
    assert again.metrics.module_previews._value.get() == 0


def test_no_preview_without_an_llm_or_once_the_cluster_has_a_module():
    requests = refresh_requests()
    log: list = []
    r = refresher(log)  # no LLM: the refresh itself is the extractive one
    asyncio.run(r.on_request(requests[0][1], 0, 0, requests[0][0].encode()))
    assert r.metrics.module_previews._value.get() == 0 and [e for e in log if e[0] == "modules"]
    with_llm: list = []
    r = refresher(with_llm, llm=Noted(with_llm))
    for offset, (k, raw) in enumerate(requests[:1] * 2 + requests[1:]):
        asyncio.run(r.on_request(raw, 0, offset, k.encode()))
    assert r.metrics.module_previews._value.get() == len({k for k, _ in requests})  # one per cluster, ever


class Slow(Noted):
    """Each call takes a while (a small model on a busy CPU), then fails like a server that is down."""

    def _next(self, queue, purpose, messages):
        time.sleep(0.3)
        return super()._next(queue, purpose, messages)


def two_requests_of_one_cluster(yield_llm: bool) -> tuple[list, Refresher]:
    """A cluster's request, and the next one arriving while the first is in its first (slow) LLM call."""
    (k, raw), *_ = refresh_requests()
    second = msgspec.msgpack.encode(
        msgspec.structs.replace(msgspec.msgpack.decode(raw, type=RefreshRequest), batch_id="the-next-batch")
    )
    log: list = []
    r = refresher(log, llm=Slow(log))
    r.yield_llm = yield_llm

    async def run():
        first = asyncio.create_task(r.on_request(raw, 0, 0, k.encode()))
        await asyncio.sleep(0.1)
        await asyncio.gather(first, r.on_request(second, 0, 1, k.encode()))

    asyncio.run(run())
    return log, r


def test_a_refresh_leaves_its_llm_steps_to_a_later_one_while_another_request_of_its_cluster_waits():
    log, r = two_requests_of_one_cluster(yield_llm=True)
    tables = [i for i, entry in enumerate(log) if entry[0] == "table"]
    calls_first = [e for e in log[: tables[0]] if e[0] == "llm"]
    calls_second = [e for e in log[tables[0] :] if e[0] == "llm"]
    assert len(calls_first) <= 1  # at most the call in flight; the rest waited for the next refresh
    assert r.metrics.llm_skipped.labels("deferred")._value.get() == 1
    assert "prior" in {e[1] for e in calls_second}  # nobody waiting: it takes up the steps left
    assert len(tables) == 2 and all(e[0] != "dlq" for e in log)


def test_with_yield_off_a_refresh_makes_its_llm_calls_whoever_waits():
    log, r = two_requests_of_one_cluster(yield_llm=False)
    first_table = next(i for i, entry in enumerate(log) if entry[0] == "table")
    assert len([e for e in log[:first_table] if e[0] == "llm"]) > 1
    assert r.metrics.llm_skipped.labels("deferred")._value.get() == 0


def test_a_store_failing_under_the_preview_skips_it_and_the_refresh_still_publishes():
    """The preview is best effort: the store refusing it (a full disk) costs the early module, never
    the request; the refresh that follows publishes as before."""
    (k, raw), *_ = refresh_requests()
    log: list = []
    store = FullDisk(failures=1)  # the preview's publish fails; the refresh's succeeds
    r = refresher(log, store=store, llm=Noted(log))
    asyncio.run(r.on_request(raw, 0, 0, k.encode()))
    versions = [decode(e[2], ModulePublished).module.version for e in log if e[0] == "modules"]
    assert versions == [1] and r.metrics.module_previews._value.get() == 0
    assert [e[0] for e in log][-1] == "table" and not [e for e in log if e[0] == "dlq"]
