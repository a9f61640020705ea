"""Worker memory after 10k and after 100k events: does it stay bounded?

    python -m bench.memory [--events 100000] [--checkpoint 10000] [--ttl SECONDS] [--store memory|rocksdb]
                           [--no-refresh] [--set NAME=VALUE ...] [--out FILE]

One worker (null embedder, so the run takes minutes, not hours; refreshes requested every 8 logs as
usual, their LLM unreachable, so the refresh side waits and retries while ingest goes on) is fed
``--events`` replay queries with a simulated feedback each, across 20 namespaces. Its RSS (psutil)
is sampled at ``--checkpoint`` events and at the end; the baseline is the first checkpoint of the
same process. What is retained by design: logs for late feedback (``UNO_FEEDBACK_TTL_S``) and event
ids for de-duplication (``UNO_DEDUPE_TTL_S``): by default the settings' own (1 day and 7 days), so
everything fed is retained and the ratio shows what a day of traffic costs in RAM; with ``--ttl``
both are set short enough that the window is full by the first checkpoint (the ratio then shows
growth beyond what the settings retain). The rest (clusters, reservoirs, pending batches, journals)
is bounded by the settings. ``--store rocksdb`` keeps the tables on disk (``UNO_STORE``); each
checkpoint also reports their size on disk, for sizing a worker's volume.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import tempfile
import threading
import time
from pathlib import Path

import psutil

from bench.common import emit, load_replay
from streams.devstack.launcher import LocalStack
from streams.devstack.workerproc import WorkerProc
from streams.kafka import make_producer, produce

NAMESPACES = 20


def records(rows: list[dict], start: int, n: int):
    for i in range(start, start + n):
        row = rows[i % len(rows)]
        ns = f"ns{i % NAMESPACES}"
        event = {
            "event_id": f"mem-{i}",
            "namespace": ns,
            "timestamp": time.time(),
            "user_id": f"u{i % 500}",
            "query": row["query"][:1000],
            "response": row["response"][:1000],
            "feedback": [{"kind": "text", "text": "Please be more concise."}],
        }
        yield json.dumps(event).encode(), ns


class PeakSampler(threading.Thread):
    """RSS every 0.2 s in the background: one reading at a checkpoint can land on a transient peak or
    just after one, so each checkpoint also reports the highest reading since the one before."""

    def __init__(self, proc: psutil.Process):
        super().__init__(daemon=True)
        self.proc, self.peak, self.stop = proc, 0, threading.Event()
        self.start()

    def run(self) -> None:
        while not self.stop.wait(0.2):
            with contextlib.suppress(psutil.Error):
                self.peak = max(self.peak, self.proc.memory_info().rss)

    def take(self) -> float:
        peak, self.peak = self.peak, 0
        return round(max(peak, self.proc.memory_info().rss) / 2**20, 1)


def disk_mib(directory: Path) -> float:
    """Bytes in the worker's RocksDB tables (``store = "rocksdb"``; 0 for the memory store)."""
    files = [f for f in directory.rglob("*") if f.is_file()] if directory.exists() else []
    return round(sum(f.stat().st_size for f in files) / 2**20, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--checkpoint", type=int, default=10_000)
    parser.add_argument("--ttl", type=float, help="feedback and de-duplication TTL (default: the settings' own)")
    parser.add_argument("--store", choices=["memory", "rocksdb"], default="memory", help="where tables live")
    parser.add_argument("--no-refresh", action="store_true", help="request no refreshes (isolates the ingest side)")
    parser.add_argument("--set", action="append", default=[], help="a worker setting: name=value")
    parser.add_argument("--out", type=Path, help="also write the JSON result here (for bench.plot)")
    args = parser.parse_args()
    rows = load_replay()
    settings = {
        "embedder": "hashing",
        "topic_partitions": 2,
        "refresh_min_logs": 10**9 if args.no_refresh else 8,
        "tick_interval_s": 5,
        "store": args.store,
        "llm_max_retries": 0,
    }
    if args.no_refresh:
        settings["refresh_max_age_s"] = 10**9
    if args.ttl is not None:
        settings |= {"feedback_ttl_s": args.ttl, "dedupe_ttl_s": args.ttl}
    settings |= dict(kv.split("=", 1) for kv in args.set)

    samples = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        stack = LocalStack(root / "stack")
        broker = stack.up(["broker"])["broker"].url
        w = WorkerProc(root / "w", broker, "http://127.0.0.1:9/v1", "bench-mem", "benchmem.", "bench-mem", **settings)
        sampler = None
        try:
            w.start(timeout=120)
            proc = psutil.Process(w.proc.pid)
            sampler = PeakSampler(proc)
            samples.append({"events": 0, "rss_mib": round(proc.memory_info().rss / 2**20, 1), "seconds": 0.0})
            producer, sent, start = make_producer(broker), 0, time.monotonic()
            for target in [*range(args.checkpoint, args.events, args.checkpoint), args.events]:
                produce(producer, w.topic("interactions"), records(rows, sent, target - sent))
                sent = target
                w.wait_for(lambda n=sent: w.metric("uno_events_total", kind="interaction") >= n, 3600, f"{sent} events")
                samples.append(
                    {
                        "events": sent,
                        "rss_mib": round(proc.memory_info().rss / 2**20, 1),
                        "rss_peak_mib": sampler.take(),  # the highest since the previous checkpoint
                        "seconds": round(time.monotonic() - start, 1),
                        "retained_logs_and_ids": int(w.metric("uno_state_keys")),
                        "tables_on_disk_mib": disk_mib(root / "w" / "faust" / "tables"),
                    }
                )
                print(json.dumps(samples[-1]), flush=True)
        finally:
            if sampler is not None:
                sampler.stop.set()
            w.stop()
            stack.down()
    first = next(s for s in samples if s["events"] == args.checkpoint)
    last = samples[-1]
    result = {
        "benchmark": "worker_memory",
        "data": {
            "events": args.events,
            "namespaces": NAMESPACES,
            "embedder": "hashing (null)",
            "ttl_s": args.ttl or "settings' defaults (feedback 1 day, de-duplication 7 days)",
            "settings": settings,
            "texts": "replay queries and responses (first 1,000 characters) + one simulated feedback",
        },
        "results": {"samples": samples, "events_per_s": round(last["events"] / last["seconds"], 1)},
        "ratios": {
            f"rss_{last['events']}_vs_{first['events']}": round(last["rss_mib"] / first["rss_mib"], 2),
            f"rss_peak_{last['events']}_vs_{first['events']}": round(last["rss_peak_mib"] / first["rss_peak_mib"], 2),
        },
    }
    emit(result)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
