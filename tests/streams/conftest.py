"""Real worker processes (`uno worker`) against the session's real broker and LLM server."""

from __future__ import annotations

import signal

import pytest

from streams.devstack.workerproc import WorkerProc
from streams.kafka import read_all

# Small thresholds, so that a handful of hand-written events produce clusters and modules.
TEST_SETTINGS = {
    "topic_partitions": 2,
    "refresh_min_logs": 4,
    "min_support": 1,
    "min_users": 1,
    "max_user_share": 1.0,
    "min_reliable_users": 0,
    "independent_quorum": 1,
    "refresh_revisions": 0,
    "ward_scale": 2.0,
    "tick_interval_s": 1,
    "refresh_max_age_s": 3600,
}


def read_topic(broker: str, topic: str, timeout: float = 10.0) -> list[tuple[bytes | None, bytes]]:
    return [(k, v) for k, v, _, _ in read_all(broker, topic, timeout)]


@pytest.fixture
def worker_factory(tmp_path, broker, llm_base_url, unique):
    """Real worker processes; ``llm=None`` runs one with no LLM at all."""
    started: list[WorkerProc] = []

    def make(
        name: str = "w",
        app_id: str | None = None,
        prefix: str | None = None,
        broker_url: str | None = None,
        worker_id: str | None = None,
        llm: str | None = "local",
        **settings,
    ) -> WorkerProc:
        w = WorkerProc(
            tmp_path / name,
            broker_url or broker,
            llm_base_url if llm == "local" else llm,
            app_id or f"uno-{unique}",
            prefix or f"t{unique}.",
            worker_id or f"{name}-{unique}",
            **(TEST_SETTINGS | settings),
        )
        started.append(w)
        return w

    yield make
    for w in started:
        w.stop(signal.SIGKILL)
