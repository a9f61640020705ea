"""The broker stopped mid-stream and started again: nothing lost, nothing counted twice, and the proxy
answers throughout (its interactions wait in the local spool and reach the topic afterwards).

A private noida-db (its own data directory, on disk) is stopped while a real worker holds a stream;
during the outage the proxy answers chat requests from the real LLM server; the broker comes back on
the same port, more events arrive, and the worker must end with every event in its clusters exactly
once, the spooled interactions on the topic, and nothing in the dead-letter topic.
"""

from __future__ import annotations

import time

import pytest

from streams.devstack.launcher import LocalStack
from streams.kafka import read_all
from tests.streams.sample import LEGAL, interactions
from tests.streams.test_worker import logs_in_clusters, records

pytestmark = [pytest.mark.infra, pytest.mark.faults]


@pytest.mark.parametrize("down_s", [pytest.param(10, id="10s"), pytest.param(30, id="30s", marks=pytest.mark.slow)])
def test_a_broker_outage_loses_nothing_and_the_proxy_keeps_answering(worker_factory, tmp_path, llm_base_url, down_s):
    stack = LocalStack(tmp_path / "stack")
    broker = stack.up(["broker"])["broker"].url
    try:
        w = worker_factory(
            "outage",
            broker_url=broker,
            llm=None,
            upstream_base_url=llm_base_url,
            spool_send_timeout_s=2,
            refresh_min_logs=1000,
        ).start()
        w.produce("interactions", records(interactions("legal", prefix="a", n_legal=8)))
        w.wait_for(lambda: logs_in_clusters(w, "legal") == 8, 120, "the first 8 events")

        stack.stop("broker")
        stopped = time.monotonic()
        chat = w.client.openai(max_retries=0, timeout=60)
        answers = [
            chat.chat.completions.create(
                model="m",
                messages=[{"role": "user", "content": q}],
                max_tokens=8,
                extra_headers={"X-UNO-Namespace": "legal"},
            )
            for q in LEGAL[:3]
        ]
        assert all(a.choices[0].message.content is not None for a in answers)  # answered, broker or not
        w.wait_for(lambda: w.metric("uno_spool_pending") == 3, 30, "the 3 interactions spooled")
        assert w.get("/healthz")["status"] == "ok"
        time.sleep(max(0.0, down_s - (time.monotonic() - stopped)))

        stack.start("broker")
        back = time.monotonic()
        w.produce("interactions", records(interactions("legal", prefix="b", n_legal=12)))
        w.wait_for(lambda: logs_in_clusters(w, "legal") == 20, 240, "all 20 events after the outage")
        w.wait_for(lambda: w.metric("uno_spool_pending") == 0, 60, "the spool replayed")
        recovered_s = time.monotonic() - back
        on_topic = {v for _, v, _, _ in read_all(broker, w.topic("interactions"))}
        assert all(any(a.id.encode() in v for v in on_topic) for a in answers)
        w.wait_for(lambda: w.metric("uno_events_total", kind="interaction", result="no_signal") == 3, 60, "stored")
        assert logs_in_clusters(w, "legal") == 20  # none counted twice
        assert read_all(broker, w.topic("dlq")) == []
        assert w.metric("uno_agent_crashes_total") == 0
        print(f"broker down {down_s}s: 23 events, 0 lost, 0 double-counted, recovered in {recovered_s:.1f}s")
    finally:
        stack.down()
