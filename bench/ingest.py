"""Ingest throughput through a real worker: USE-m3 vs a null (hashing) embedder vs the embedder alone.

    python -m bench.ingest [--events 300] [--null-events 5000] [--only null_worker,bare_faust,...]

Starts a broker and a worker per configuration (refreshes effectively off: the measure is ingest),
produces replay queries as InteractionEvents with one **simulated** text feedback each (so every
event is embedded and clustered), and times from the first record produced (by a producer already
connected: a cold one took 0.5-1 s to send its first record, which earlier runs counted) until the worker's
`uno_events_total{result="ok"}` reaches the count. Baselines in the same run: the embedder alone
on the same texts at the batch size the worker uses (``ingest_batch_max``); the worker embedding a
batch's texts in one call and applying the records after it (``ingest_embed_chunk`` = the batch: no
overlap of embedding and applying); the worker taking one record per batch (``ingest_batch_max=1``:
what ingest did before batching); the worker embedding in its own process, in a thread
(``embed_process=false``: the way before the embedder got a child process); and the ingest
handler alone, in this process, on a dict with no broker (the logic's own cost; the rest of a
worker's is Faust, aiokafka and the changelog). The worker's event loop lag while it ingests
(`uno_event_loop_lag_seconds`, p99 from the histogram) is reported too: the HTTP API and the
consumer's heartbeats run on that loop. So is where the CPU went: seconds of CPU of the worker (with its
embedder's child process) and of the broker (same machine) while the worker ingested.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import psutil

from bench.common import emit, load_replay
from processors.embedders import make_embedder
from processors.embedders.process import ProcessEmbedder
from streams.devstack.launcher import LocalStack
from streams.devstack.workerproc import WorkerProc
from streams.evaluation.simulate import PREFERENCES
from streams.kafka import make_producer, produce
from streams.worker.app import local_embedder
from streams.worker.ingest import IngestHandler, Record, Source
from streams.worker.metrics import Metrics
from uno_models import Settings

FEEDBACK = "Please answer more concisely and cite your sources."


def events(rows: list[dict], n: int, distinct_feedback: bool = False) -> list[tuple[bytes, str]]:
    """``distinct_feedback``: each event's feedback is one of the simulator's phrasings with its number,
    so no two share a text (the worst case for what is read once per text: the parse cache of
    `processors.evidence`); otherwise all carry `FEEDBACK`."""
    phrasings = [p for _, ps in PREFERENCES for p in ps]
    out = []
    for i in range(n):
        row = rows[i % len(rows)]
        feedback = f"{phrasings[i % len(phrasings)]} (#{i})" if distinct_feedback else FEEDBACK
        event = {
            "event_id": f"bench-{i}",
            "namespace": "bench",
            "timestamp": time.time(),
            "user_id": f"u{i % 50}",
            "query": row["query"][:2000],  # the worker embeds only the head (embed_max_chars)
            "response": row["response"][:2000],
            "feedback": [{"kind": "text", "text": feedback}],
        }
        out.append((json.dumps(event).encode(), "bench"))
    return out


def through_worker(
    embedder: str,
    root: Path,
    records: list[tuple[bytes, str]],
    batch: int,
    chunk: int | None = None,
    process: bool = True,
    processes: int = 0,
    bare_writes: int | None = None,
) -> dict:
    """One configuration on a broker of its own: on a shared one, each configuration ran slower than the
    one before it (the same worker 175, 150, 139 events/s in turn, the broker's CPU 1.6, 4.6, 6.0 s: it
    does more work for every topic it keeps), which favoured whatever ran first. ``bare_writes``: run
    `bench.bare_worker` instead (Faust taking the records, with that many table writes per record)."""
    chunk = chunk or Settings().ingest_embed_chunk
    name = f"{embedder}-b{batch}-c{chunk}-p{processes}" + ("" if process else "-inproc")
    if bare_writes is not None:
        name = f"bare-b{batch}-w{bare_writes}"
    stack = LocalStack(root / name / "stack")
    service = stack.up(["broker"])["broker"]
    broker = psutil.Process(service.pid)
    w = WorkerProc(
        root / name / "worker",
        service.url,
        None,
        f"bench-{name}",
        f"bench{name}.",
        f"bench-{name}",
        embedder=embedder,
        refresh_min_logs=1_000_000,
        refresh_max_age_s=1e9,
        topic_partitions=1,
        ingest_batch_max=batch,
        ingest_embed_chunk=chunk,
        embed_process=process,
        embed_processes=processes,
        **({"command": ("bench.bare_worker",), "bench_writes": bare_writes} if bare_writes is not None else {}),
    )
    w.env["PYTHONPATH"] = str(Path(__file__).resolve().parent.parent)  # the child runs in its own directory

    def done() -> bool:
        if bare_writes is None:
            return w.metric("uno_events_total", kind="interaction", result="ok") >= len(records)
        return httpx.get(f"http://127.0.0.1:{w.port}/bench/count").json()["taken"] >= len(records)

    try:
        w.start(timeout=120)
        worker = psutil.Process(w.proc.pid)
        producer = make_producer(service.url)
        producer.list_topics(timeout=30)  # connected before the clock starts: a cold producer took ~0.5-1 s
        cpu = [cpu_seconds(worker), cpu_seconds(broker), cpu_seconds(worker, children=False)]
        start = time.perf_counter()
        produce(producer, w.topic("interactions"), records)
        w.wait_for(done, 1800, "every event ingested", poll_s=0.1)
        elapsed = time.perf_counter() - start
        cpu = [
            round(cpu_seconds(worker) - cpu[0], 1),
            round(cpu_seconds(broker) - cpu[1], 1),
            round(cpu_seconds(worker, children=False) - cpu[2], 1),
        ]
        lag = loop_lag_p99(w.client.metrics_text()) if bare_writes is None else None
        refreshes = None  # by trigger, while the worker ingested
        if bare_writes is None:
            refreshes = {labels["reason"]: v for labels, v in w.samples("uno_refresh_requests_total")}
    finally:
        w.stop()
        stack.down()
    return rate(len(records), batch, elapsed) | {
        "embed_chunk": chunk,
        "loop_lag_p99_s": lag,
        "refresh_requests": refreshes,
        "cpu_s": {"worker": cpu[0], "broker": cpu[1], "worker_main_process": cpu[2]},
    }


def cpu_seconds(process: psutil.Process, children: bool = True) -> float:
    """CPU seconds of the process and (``children``) its children: the worker's embedder runs in one."""
    total = 0.0
    for p in [process, *(process.children(recursive=True) if children else [])]:
        try:
            times = p.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system
    return total


def handler_alone(embedder_name: str, records: list[tuple[bytes, str]], batch: int) -> dict:
    """The worker's ingest handler in this process: a dict for the table, sends that return at once."""
    settings = Settings(embedder=embedder_name, refresh_min_logs=1_000_000, refresh_max_age_s=1e9)

    async def send(role: str, key: str, value: bytes) -> None:
        return None

    handler = IngestHandler(settings, make_embedder(settings), {}, send, Metrics())
    batches = [
        [Record("interactions", v, Source("bench", 0, i, k.encode())) for i, (v, k) in enumerate(chunk, start=j)]
        for j in range(0, len(records), batch)
        if (chunk := records[j : j + batch])
    ]

    async def run() -> None:
        for b in batches:
            await handler.on_batch(b)

    start = time.perf_counter()
    asyncio.run(run())
    return rate(len(records), batch, time.perf_counter() - start)


def rate(events: int, batch: int, elapsed: float) -> dict:
    return {"events": events, "batch": batch, "seconds": round(elapsed, 2), "events_per_s": round(events / elapsed, 1)}


def loop_lag_p99(exposition: str) -> float | None:
    """The p99 of `uno_event_loop_lag_seconds` from its cumulative buckets (the bucket's upper bound)."""
    buckets = []
    for line in exposition.splitlines():
        if line.startswith("uno_event_loop_lag_seconds_bucket"):
            le = line.split('le="', 1)[1].split('"', 1)[0]
            buckets.append((float(le), float(line.rsplit(" ", 1)[1])))
    if not buckets or buckets[-1][1] == 0:
        return None
    total = buckets[-1][1]
    return next(le for le, count in buckets if count >= 0.99 * total)


def batches_of_texts(records: list[tuple[bytes, str]], batch: int) -> list[list[str]]:
    """What the worker embeds per batch: each distinct query and feedback text once (the query's head:
    the embedders cut it at ``embed_max_chars`` themselves)."""
    out = []
    for i in range(0, len(records), batch):
        decoded = [json.loads(value) for value, _ in records[i : i + batch]]
        texts = [e["query"] for e in decoded] + [fb["text"] for e in decoded for fb in e["feedback"]]
        out.append(list(dict.fromkeys(texts)))
    return out


def embedder_alone(embedder, records: list[tuple[bytes, str]], batch: int) -> dict:
    batches = batches_of_texts(records, batch)
    me = psutil.Process()
    cpu, start = cpu_seconds(me, children=False), time.perf_counter()  # the embedder runs in this process
    for texts in batches:
        embedder.embed(texts)
    elapsed = time.perf_counter() - start
    return rate(len(records), batch, elapsed) | {"cpu_s": round(cpu_seconds(me, children=False) - cpu, 1)}


def children_alone(records: list[tuple[bytes, str]], batch: int) -> dict:
    """The embedder as the worker runs it (`local_embedder`: USE-m3 in one child per CPU), fed a batch's
    chunks from one thread per child as the worker's ingest does, with nothing else running: its ceiling."""
    settings = Settings()
    embedder = local_embedder(settings)
    assert isinstance(embedder, ProcessEmbedder)
    chunk = settings.ingest_embed_chunk
    try:
        embedder.embed(["warm-up"] * embedder.parallel)  # the weights load in the children's background
        with ThreadPoolExecutor(embedder.parallel) as threads:
            start = time.perf_counter()
            for batch_texts in batches_of_texts(records, batch):
                list(
                    threads.map(embedder.embed, [batch_texts[j : j + chunk] for j in range(0, len(batch_texts), chunk)])
                )
            elapsed = time.perf_counter() - start
    finally:
        embedder.close()
    return rate(len(records), batch, elapsed) | {"processes": embedder.parallel}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=300)
    parser.add_argument("--null-events", type=int, default=5_000)
    parser.add_argument("--batch", type=int, default=None, help="records per batch (default: ingest_batch_max)")
    parser.add_argument(
        "--distinct-feedback", action="store_true", help="no two events share a feedback text (default: all the same)"
    )
    parser.add_argument("--only", default="", help="a comma-separated subset of the rows (default: all)")
    args = parser.parse_args()
    rows = load_replay()
    records = events(rows, args.events, args.distinct_feedback)
    null_records = events(rows, args.null_events, args.distinct_feedback)
    batch = args.batch or Settings().ingest_batch_max
    usem3 = make_embedder(Settings())  # the default: USE-m3 on the first embed_max_chars characters
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        rows_to_run = {
            "usem3_alone": lambda: embedder_alone(usem3, records, batch),
            "usem3_alone_in_children": lambda: children_alone(records, batch),
            "usem3_worker": lambda: through_worker("usem3", root, records, batch),
            # one child process (the way before the evening of 2026-11-30)
            "usem3_worker_one_child": lambda: through_worker("usem3", root, records, batch, processes=1),
            # the embedder in the worker's own process (a thread): the way before 2026-11-30, later
            "usem3_worker_in_process": lambda: through_worker("usem3", root, records, batch, process=False),
            # the batch's texts in one call, applied after it (no overlap): the way before 2026-11-30
            "usem3_worker_one_call": lambda: through_worker("usem3", root, records, batch, chunk=batch),
            "usem3_worker_unbatched": lambda: through_worker("usem3", root, records[: args.events // 3], 1),
            "null_handler_alone": lambda: handler_alone("hashing", null_records, batch),
            "null_worker": lambda: through_worker("hashing", root, null_records, batch),
            "null_worker_unbatched": lambda: through_worker("hashing", root, null_records[: args.null_events // 5], 1),
            # the framework's ceiling: Faust taking the same records with no UNO logic, then with the two
            # table writes per record that ingest made until 2026-12-02 (the log and the event id; now one)
            "bare_faust": lambda: through_worker("hashing", root, null_records, batch, bare_writes=0),
            "bare_faust_two_writes": lambda: through_worker("hashing", root, null_records, batch, bare_writes=2),
        }
        only = [r for r in args.only.split(",") if r] or list(rows_to_run)
        if unknown := set(only) - set(rows_to_run):
            parser.error(f"--only: unknown rows {sorted(unknown)}; rows: {', '.join(rows_to_run)}")
        results = {name: rows_to_run[name]() for name in only}

    def ratio(a: str, b: str) -> float | None:
        if a not in results or b not in results:
            return None
        return round(results[a]["events_per_s"] / results[b]["events_per_s"], 2)

    emit(
        {
            "benchmark": "ingest",
            "data": {
                "events": args.events,
                "null_events": args.null_events,
                "embedder": usem3.id,
                "texts": "replay queries + one simulated feedback",
                "distinct_feedback": args.distinct_feedback,
            },
            "results": results,
            "ratios": {
                "usem3_worker_vs_embedder_alone": ratio("usem3_worker", "usem3_alone"),
                "usem3_worker_vs_embedder_in_children_alone": ratio("usem3_worker", "usem3_alone_in_children"),
                "usem3_children_vs_one_child": ratio("usem3_worker", "usem3_worker_one_child"),
                "usem3_one_call_vs_embedder_alone": ratio("usem3_worker_one_call", "usem3_alone"),
                "usem3_overlapped_vs_one_call": ratio("usem3_worker", "usem3_worker_one_call"),
                "usem3_child_process_vs_in_process": ratio("usem3_worker", "usem3_worker_in_process"),
                "usem3_batched_vs_unbatched": ratio("usem3_worker", "usem3_worker_unbatched"),
                "null_batched_vs_unbatched": ratio("null_worker", "null_worker_unbatched"),
                "null_worker_vs_handler_alone": ratio("null_worker", "null_handler_alone"),
                "null_worker_vs_bare_faust": ratio("null_worker", "bare_faust"),
                "null_worker_vs_bare_faust_two_writes": ratio("null_worker", "bare_faust_two_writes"),
            },
        }
    )


if __name__ == "__main__":
    main()
