"""The operators' commands against a real worker: modules list/history/rollback, pairs export, dlq inspect/replay."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time

import pytest

from tests.streams.conftest import read_topic
from tests.streams.sample import interactions

pytestmark = pytest.mark.infra


def uno(worker, *args: str) -> subprocess.CompletedProcess:
    env = {**worker.env, "UNO_API_HOST": "127.0.0.1", "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "streams.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=os.getcwd(),
    )


def test_modules_pairs_and_dlq_commands(worker_factory, tmp_path):
    w = worker_factory(api_token="s3cret").start()
    events = interactions("legal", n_legal=4)
    w.produce("interactions", [(b"legal", json.dumps(e).encode()) for e in events] + [(b"legal", b"{oops")])
    w.wait_for(lambda: w.metric("uno_refreshes_total", outcome="published") >= 1, 240, "a module")

    listed = uno(w, "modules", "list")
    assert listed.returncode == 0 and "legal" in listed.stdout
    cluster = str(w.get("/v1/modules?namespace=legal")["modules"][0]["cluster_id"])
    behind = w.get("/v1/evidence?namespace=legal")["rules"]  # why each rule is (not) published
    assert all("held_back" in r for r in behind) and any(r["held_back"] is None for r in behind)
    shown = uno(w, "modules", "rules", "legal")
    assert shown.returncode == 0 and f"{len(behind)} rules" in shown.stdout, shown.stdout + shown.stderr
    assert uno(w, "modules", "show", "legal", cluster).returncode == 0

    # a first module from the users' words, then the refresh's (with the LLM's steps): 2 versions
    versions = len(w.get(f"/v1/modules/legal/{cluster}")["history"])
    rolled = uno(w, "modules", "rollback", "legal", cluster, "1")
    assert rolled.returncode == 0 and f"restored as version {versions + 1}" in rolled.stdout
    assert str(versions + 1) in uno(w, "modules", "history", "legal", cluster).stdout
    no_token = {**w.env, "UNO_API_TOKEN": "wrong"}
    denied = subprocess.run(
        [sys.executable, "-m", "streams.cli", "modules", "rollback", "legal", cluster, "1"],
        env=no_token,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert denied.returncode == 1 and "401" in denied.stderr

    out = tmp_path / "pairs.jsonl"
    assert uno(w, "pairs", "export", str(out)).returncode == 0
    pairs = [json.loads(line) for line in out.read_text().splitlines()]
    assert pairs and all({"prompt", "chosen", "rejected"} <= set(p) for p in pairs)
    assert any(p["source"] == "correction" for p in pairs)

    inspected = uno(w, "dlq", "inspect")
    assert inspected.returncode == 0 and "malformed: 1" in inspected.stdout
    assert "would re-send 1" in uno(w, "dlq", "replay", "--dry-run").stdout
    assert uno(w, "dlq", "replay").returncode == 0
    w.wait_for(lambda: w.metric("uno_dlq_total", reason="malformed") == 2, 60, "the re-driven record fails again")

    # The store is lost; the compacted modules topic rebuilds it (with the worker stopped: local mode).
    before = (w.get("/v1/modules?namespace=legal"), w.get(f"/v1/modules/legal/{cluster}"))
    w.stop()
    shutil.rmtree(w.root / "qdrant")
    rebuilt = uno(w, "modules", "rebuild")
    restored = f"{versions + 1} restored"  # every version on the topic
    assert rebuilt.returncode == 0 and restored in rebuilt.stdout, rebuilt.stdout + rebuilt.stderr
    assert f"{versions + 1} already present" in uno(w, "modules", "rebuild").stdout  # idempotent
    w.start()
    assert (w.get("/v1/modules?namespace=legal"), w.get(f"/v1/modules/legal/{cluster}")) == before


def test_a_retired_cluster_is_withdrawn_everywhere_and_a_rebuild_agrees(worker_factory):
    """Lifecycle against the real broker and Qdrant: an idle cluster's module is withdrawn from the store
    and tombstoned on the compacted modules topic, so `uno modules rebuild` gives the same store."""
    w = worker_factory(llm=None, cluster_idle_ttl_s=15, refresh_min_logs=4, quiet_tick_interval_s=2).start()
    now = time.time()
    events = [dict(e, timestamp=now + i) for i, e in enumerate(interactions("legal", n_legal=4))]
    w.produce("interactions", [(b"legal", json.dumps(e).encode()) for e in events])
    w.wait_for(lambda: w.metric("uno_modules_published_total") >= 1, 120, "a module")
    w.wait_for(lambda: w.metric("uno_modules_withdrawn_total", reason="retired") >= 1, 120, "the idle cluster retired")
    assert w.get("/v1/modules?namespace=legal")["modules"] == []
    last = {}
    for key, value in read_topic(w.broker, w.topic("modules")):
        last[key] = value
    assert last and all(value is None for value in last.values())  # the newest record of each key: a tombstone
    w.stop()
    shutil.rmtree(w.root / "qdrant")
    rebuilt = uno(w, "modules", "rebuild")
    assert rebuilt.returncode == 0 and "1 withdrawn" in rebuilt.stdout, rebuilt.stdout + rebuilt.stderr
    w.start()
    assert w.get("/v1/modules?namespace=legal")["modules"] == []
