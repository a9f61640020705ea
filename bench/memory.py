"""Worker memory after 10k and after 100k events: does it stay bounded?

    python -m bench.memory [--events 100000] [--checkpoint 10000] [--ttl SECONDS] [--store memory|rocksdb]
                           [--no-refresh] [--set NAME=VALUE ...] [--out FILE]
    python -m bench.memory --in-process --store rocksdb --events 1000000 --checkpoint 100000

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

``--in-process`` runs the worker's ingest and refresh code in this process with no broker and no
Faust (`processors.replay.BatchReplay`, the same events), its state in a RocksDB database opened with
the worker's options (one budget, `streams.worker.rocks`) or in a dict: the test broker keeps every
record in memory (~120-190 KB per event here; 100k events took 11.9 GB) and cannot hold 1M, so this
is how the state's own memory is measured at 1M. What it leaves out: Faust's and aiokafka's buffers, the changelog's
producer, the HTTP server.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import tempfile
import threading
import time
from collections.abc import MutableMapping
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
    just after one, so each checkpoint also reports the highest reading since the one before, and
    their mean (`mean`)."""

    def __init__(self, proc: psutil.Process):
        super().__init__(daemon=True)
        self.proc, self.peak, self.stop = proc, 0, threading.Event()
        self.readings: list[int] = []
        self.start()

    def run(self) -> None:
        while not self.stop.wait(0.2):
            with contextlib.suppress(psutil.Error):
                rss = self.proc.memory_info().rss
                self.peak = max(self.peak, rss)
                self.readings.append(rss)

    def take(self) -> float:
        peak, self.peak = self.peak, 0
        return round(max(peak, self.proc.memory_info().rss) / 2**20, 1)

    def mean(self) -> float | None:
        """The mean reading since the last call (None if there was none)."""
        readings, self.readings = self.readings, []
        return round(sum(readings) / len(readings) / 2**20, 1) if readings else None


def rocksdb_memory(w: WorkerProc) -> dict:
    """RocksDB's share of the RSS (store = rocksdb): its shared cache, memtables included."""
    cache = w.metric("uno_rocksdb_memory_bytes", part="cache")
    return {"rocksdb_mib": round(cache / 2**20, 1)} if cache else {}


def disk_mib(directory: Path) -> float:
    """Bytes in the worker's RocksDB tables (``store = "rocksdb"``; 0 for the memory store)."""
    files = [f for f in directory.rglob("*") if f.is_file()] if directory.exists() else []
    return round(sum(f.stat().st_size for f in files) / 2**20, 1)


def checkpoints(args) -> list[int]:
    """Where RSS is sampled: every ``--checkpoint`` events, and at the end."""
    return [*range(args.checkpoint, args.events, args.checkpoint), args.events]


class RocksTable(MutableMapping):
    """A raw-mode RocksDB database as the mapping of ``str`` to ``bytes`` that ingest's state is: what
    Faust's table is in the worker, less its changelog."""

    def __init__(self, db):
        self.db = db

    def __getitem__(self, key: str) -> bytes:
        value = self.db.get(key.encode())
        if value is None:
            raise KeyError(key)
        return value

    def __setitem__(self, key: str, value: bytes) -> None:
        self.db[key.encode()] = value

    def __delitem__(self, key: str) -> None:
        del self.db[key.encode()]

    def __iter__(self):
        return (k.decode() for k in self.db.keys())  # noqa: SIM118 (a raw Rdict has no __iter__)

    def __len__(self) -> int:
        return sum(1 for _ in self.db.keys())  # noqa: SIM118


def in_process(args, settings: dict, rows: list[dict], root: Path) -> list[dict]:
    """The samples of a run of the worker's code in this process (``--in-process``)."""
    from processors.embedders import make_embedder
    from processors.replay import BatchReplay
    from processors.store import ModuleStore
    from streams.worker.app import make_refresh, rocksdb_options
    from streams.worker.metrics import Metrics
    from streams.worker.rocks import SharedOptions
    from uno_models import decode_interaction, load_settings

    s = load_settings(env={}, toml_path=None, **settings)
    embedder = make_embedder(s)
    store = ModuleStore(embedder.id, embedder.dim, path=str(root / "modules"))
    table = None
    if s.store == "rocksdb":
        table = RocksTable(SharedOptions(**rocksdb_options(s), use_rocksdict=True).open(root / "tables"))
    replay = BatchReplay(s, embedder, make_refresh(s, "", embedder, store, Metrics()), table=table)
    proc = psutil.Process()
    sampler = PeakSampler(proc)
    samples = [{"events": 0, "rss_mib": round(proc.memory_info().rss / 2**20, 1), "seconds": 0.0}]
    sent, start = 0, time.monotonic()
    try:
        for target in checkpoints(args):
            for raw, _ in records(rows, sent, target - sent):
                replay.interaction(decode_interaction(raw))
            sent = target
            samples.append(
                {
                    "events": sent,
                    "rss_mib": round(proc.memory_info().rss / 2**20, 1),
                    "rss_peak_mib": sampler.take(),
                    "rss_mean_mib": sampler.mean(),
                    "seconds": round(time.monotonic() - start, 1),
                    "tables_on_disk_mib": disk_mib(root / "tables"),
                    "refreshes": sum(replay.outcomes.values()),
                }
            )
            print(json.dumps(samples[-1]), flush=True)
    finally:
        sampler.stop.set()
    return samples


def in_worker(args, settings: dict, rows: list[dict], root: Path) -> list[dict]:
    """The samples of a run of one worker process on a local broker (the default)."""
    samples = []
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
        for target in checkpoints(args):
            produce(producer, w.topic("interactions"), records(rows, sent, target - sent))
            sent = target
            w.wait_for(lambda n=sent: w.metric("uno_events_total", kind="interaction") >= n, 3600, f"{sent} events")
            samples.append(
                {
                    "events": sent,
                    "rss_mib": round(proc.memory_info().rss / 2**20, 1),
                    "rss_peak_mib": sampler.take(),  # the highest since the previous checkpoint
                    "rss_mean_mib": sampler.mean(),  # and the mean of the readings since then
                    "seconds": round(time.monotonic() - start, 1),
                    "retained_logs_and_ids": int(w.metric("uno_state_keys")),
                    "tables_on_disk_mib": disk_mib(root / "w" / "faust" / "tables"),
                }
                | rocksdb_memory(w)
            )
            print(json.dumps(samples[-1]), flush=True)
    finally:
        if sampler is not None:
            sampler.stop.set()
        w.stop()
        stack.down()
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--checkpoint", type=int, default=10_000)
    parser.add_argument("--ttl", type=float, help="feedback and de-duplication TTL (default: the settings' own)")
    parser.add_argument("--store", choices=["memory", "rocksdb"], default="memory", help="where tables live")
    parser.add_argument("--no-refresh", action="store_true", help="request no refreshes (isolates the ingest side)")
    parser.add_argument("--set", action="append", default=[], help="a worker setting: name=value")
    parser.add_argument("--out", type=Path, help="also write the JSON result here (for bench.plot)")
    parser.add_argument("--in-process", action="store_true", help="the worker's code in this process, no broker")
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
        if args.in_process:
            samples = in_process(args, settings, rows, root)
        else:
            samples = in_worker(args, settings, rows, root)
    first = next(s for s in samples if s["events"] == args.checkpoint)
    last = samples[-1]
    result = {
        "benchmark": "worker_memory",
        "data": {
            "events": args.events,
            "namespaces": NAMESPACES,
            "embedder": "hashing (null)",
            "mode": "in process, no broker (BatchReplay)" if args.in_process else "one worker, local broker",
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
