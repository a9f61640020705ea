"""The LLM server stopped mid-stream and started again: ingest and refreshes go on without it (rules in
the users' words), the skipped LLM steps are visible in metrics, nothing queues, and the LLM is used
again once it is back.

A private llama.cpp server (SmolLM2-135M) serves one real worker; it is stopped while a new topic's
feedback arrives, and started again on the same port.
"""

from __future__ import annotations

import time

import pytest

from streams.devstack.launcher import LocalStack
from streams.kafka import read_all
from tests.streams.sample import interactions
from tests.streams.test_worker import logs_in_clusters, records

pytestmark = [pytest.mark.infra, pytest.mark.faults]


def llm_ok(w) -> float:
    return w.metric("uno_llm_requests_total", outcome="ok")


@pytest.mark.parametrize("down_s", [pytest.param(10, id="10s"), pytest.param(60, id="60s", marks=pytest.mark.slow)])
def test_an_llm_outage_never_stops_ingest_or_refreshes(worker_factory, tmp_path, down_s):
    stack = LocalStack(tmp_path / "stack")
    llm = stack.up(["llm"])["llm"].url
    try:
        w = worker_factory("llm-outage", llm=llm, llm_max_retries=0, llm_timeout_s=20).start()
        w.produce("interactions", records(interactions("legal", prefix="a", n_legal=8)))
        w.wait_for(
            lambda: w.metric("uno_modules_published_total") >= 1 and llm_ok(w) >= 1, 240, "a module, with the LLM"
        )

        stack.stop("llm")
        stopped = time.monotonic()
        published = w.metric("uno_modules_published_total")
        w.produce("interactions", records(interactions("kitchen", prefix="k", n_legal=0, n_cooking=8)))
        w.wait_for(lambda: logs_in_clusters(w, "kitchen") == 8, 120, "ingest going on without the LLM")
        w.wait_for(lambda: w.metric("uno_modules_published_total") > published, 180, "a module without the LLM")
        w.wait_for(lambda: w.metric("uno_llm_steps_skipped_total") >= 1, 60, "the skipped LLM steps, visible")
        w.wait_for(lambda: w.metric("uno_refreshes_running") == 0, 60, "no refresh stuck on the LLM")
        assert w.get("/healthz")["status"] == "ok"
        time.sleep(max(0.0, down_s - (time.monotonic() - stopped)))

        stack.start("llm")
        back, before = time.monotonic(), llm_ok(w)
        w.produce("interactions", records(interactions("kitchen", prefix="m", n_legal=0, n_cooking=8)))
        w.wait_for(lambda: llm_ok(w) > before, 240, "the LLM used again once it is back")
        recovered_s = time.monotonic() - back
        w.wait_for(lambda: logs_in_clusters(w, "kitchen") == 16, 60, "every kitchen event")
        assert logs_in_clusters(w, "legal") == 8
        assert read_all(w.broker, w.topic("dlq")) == []
        assert w.metric("uno_agent_crashes_total") == 0
        print(f"LLM down {down_s}s: 24 events, 0 lost, 0 double-counted, LLM used again after {recovered_s:.1f}s")
    finally:
        stack.down()
