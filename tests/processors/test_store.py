"""The module store on real Qdrant local mode (on disk)."""

from __future__ import annotations

import time

import numpy as np
import pytest

from processors.store import ModuleStore, StoreUnavailableError
from uno_models import ExperienceModule, ModuleKind, ModulePublished


def record(ns: str, cid: int, version: int, vector, kind=ModuleKind.PRIMARY, guidance="- Be brief.") -> ModulePublished:
    module = ExperienceModule(
        namespace=ns,
        cluster_id=cid,
        version=version,
        kind=kind,
        guidance=guidance,
        gap_score=0.2,
        embedder_id="test-4",
        created_at=float(version),
    )
    return ModulePublished(module=module, centroid=list(vector), published_at=float(version))


@pytest.fixture
def store(tmp_path):
    s = ModuleStore("test-4", 4, path=str(tmp_path / "qdrant"))
    yield s
    s.close()


def test_publish_is_idempotent_refuses_stale_and_keeps_history(store):
    e = np.eye(4)
    assert store.publish(record("a", 1, 1, e[0])).reason == "published"
    assert store.publish(record("a", 1, 1, e[0])).reason == "same_version"  # replay: no-op
    assert store.publish(record("a", 1, 2, e[0], guidance="- Be briefer.")).reason == "published"
    stale = store.publish(record("a", 1, 1, e[0]))
    assert (stale.published, stale.reason, stale.version) == (False, "stale", 2)
    assert store.get("a", 1).guidance == "- Be briefer."
    assert [m.version for m in store.history("a", 1)] == [1, 2]
    assert store.count() == 1


def test_rollback_restores_old_content_as_a_new_version(store):
    e = np.eye(4)
    store.publish(record("a", 1, 1, e[0], guidance="- v1"))
    store.publish(record("a", 1, 2, e[0], guidance="- v2"))
    restored = store.rollback("a", 1, 1, now=99.0).module
    assert (restored.version, restored.guidance) == (3, "- v1")
    assert store.get("a", 1).version == 3
    with pytest.raises(KeyError, match="no version 7"):
        store.rollback("a", 1, 7, now=100.0)


def test_search_never_crosses_namespaces_and_survives_reopening(tmp_path):
    e = np.eye(4)
    store = ModuleStore("test-4", 4, path=str(tmp_path / "q"))
    store.publish(record("a", 1, 1, e[0]))
    store.publish(record("b", 1, 1, e[1]))
    store.publish(record("b", 2, 1, e[2]))
    hits = store.search("b", e[0], k=5)  # nearest overall is a/1, which b must never see
    assert {(m.namespace, m.cluster_id) for m, _ in hits} == {("b", 1), ("b", 2)}
    store.close()
    reopened = ModuleStore("test-4", 4, path=str(tmp_path / "q"))
    assert [(m.namespace, m.cluster_id) for m in reopened.list()] == [("a", 1), ("b", 1), ("b", 2)]
    assert reopened.search("a", e[0])[0][1] == pytest.approx(1.0)
    reopened.close()


def test_mismatched_vector_spaces_are_refused(store):
    with pytest.raises(ValueError, match="expects 4"):
        store.publish(record("a", 1, 1, [1.0, 0.0]))
    other = record("a", 1, 1, np.eye(4)[0])
    other.module.embedder_id = "another-4"
    with pytest.raises(ValueError, match="another-4"):
        store.publish(other)


def test_a_full_disk_is_reported_as_unavailable_half_writes_nothing_and_recovers(small_disk):
    """Qdrant local mode on a real filesystem that fills up: SQLite's "database or disk is full" comes
    out as `StoreUnavailableError` (the refresher retries it), the version current stays the last
    whole one, and once space is back the same publish succeeds and survives a reopen."""
    path = str(small_disk.path / "qdrant")
    store = ModuleStore("test-4", 4, path=path)
    store.publish(record("legal", 1, 1, [1, 0, 0, 0]))
    small_disk.fill()
    version = 2
    with pytest.raises(StoreUnavailableError, match="disk is full"):
        for version in range(2, 10_000):  # the filler leaves a few pages: publish until they are used up
            store.publish(record("legal", 1, version, [1, 0, 0, 0], guidance="x" * 4_000))
    assert store.get("legal", 1).version == version - 1  # nothing half-applied
    small_disk.free()
    assert store.publish(record("legal", 1, version, [1, 0, 0, 0])).published
    store.close()
    reopened = ModuleStore("test-4", 4, path=path)
    try:
        assert reopened.get("legal", 1).version == version
        assert [m.version for m in reopened.history("legal", 1)] == list(range(1, version + 1))
    finally:
        reopened.close()


@pytest.fixture
def hung_server():
    """A real TCP endpoint that takes connections and never answers: a Qdrant server that hangs (the
    kernel completes the handshake of a listening socket; nothing reads the requests)."""
    import socket

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    listener.close()


def as_server_store(store: ModuleStore, url: str) -> ModuleStore:
    """``store`` as a worker against a Qdrant server sees it: its index is reloaded from the server when
    stale (what ``url=`` sets up), with the real client pointed at ``url``."""
    from qdrant_client import QdrantClient

    store._client.close()
    store._client = QdrantClient(url=url, timeout=2, check_compatibility=False)
    store.local = False
    return store


def test_a_qdrant_server_that_hangs_leaves_retrieval_on_the_copy_it_has(store, hung_server):
    """With a server, a namespace's in-memory copy is reloaded when stale. The server hanging must not
    hold up retrieval: readers keep the copy they have while one reload runs in the background, and a
    failed reload keeps it (tried again after ``index_max_age_s``). A namespace never loaded has no
    copy: that is `StoreUnavailableError` (serving answers without a module, counted)."""
    store.publish(record("legal", 0, 1, [1, 0, 0, 0]))
    store.publish(record("legal", 1, 1, [0, 1, 0, 0]))
    store.index.loaded_at["legal"] = 0.0  # loaded long ago: stale
    as_server_store(store, hung_server)

    (found, score), *_ = store.search("legal", [0.9, 0.1, 0, 0])
    assert found.cluster_id == 0 and score > 0.9
    assert "legal" in store.reloading  # answered while the reload waits on the server
    assert store.search("legal", [0.1, 0.9, 0, 0])[0][0].cluster_id == 1  # one reload at a time, same copy

    deadline = time.monotonic() + 30
    while "legal" in store.reloading and time.monotonic() < deadline:
        time.sleep(0.05)
    assert "legal" not in store.reloading and store.reload_failures == 1  # the client timed out
    assert store.search("legal", [0.9, 0.1, 0, 0])[0][0].cluster_id == 0  # the copy is kept
    with pytest.raises(StoreUnavailableError):
        store.search("tax", [1, 0, 0, 0])  # nothing loaded yet: no copy to fall back on


def test_a_store_made_while_its_qdrant_server_is_down_fails_each_call_until_the_server_answers():
    """The worker must start without its Qdrant server (ingest does not need it): the store is made,
    and each call that needs the server raises `StoreUnavailableError`, which refreshes retry and
    serving answers as ``unavailable``. The collections are made by the first call that gets through."""
    from streams.devstack.launcher import free_port

    store = ModuleStore("test-4", 4, url=f"http://127.0.0.1:{free_port()}")  # nothing listens: refused
    try:
        with pytest.raises(StoreUnavailableError, match="refused"):
            store.publish(record("legal", 0, 1, [1, 0, 0, 0]))
        with pytest.raises(StoreUnavailableError, match="refused"):
            store.search("legal", [1, 0, 0, 0])
        assert store.index.search("legal", np.array([1, 0, 0, 0], dtype=np.float32), 1) == []
    finally:
        store.close()
