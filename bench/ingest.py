"""Ingest throughput through a real worker: USE-m3 vs a null (hashing) embedder vs the embedder alone.

    python -m bench.ingest [--events 300]

Starts a broker and a worker per embedder (refreshes effectively off: the measure is ingest),
produces ``--events`` replay queries as InteractionEvents with one **simulated** text feedback each
(so every event is embedded and clustered), and times from the first record produced until the
worker's `uno_events_total{result="ok"}` reaches the count. The baseline in the same run is the
embedder alone on the same texts, one event (query + feedback) per call as the agent does.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from bench.common import emit, load_replay
from processors.embedders.hashing import HashingEmbedder
from processors.embedders.usem3 import USEm3Embedder
from streams.devstack.launcher import LocalStack
from streams.devstack.workerproc import WorkerProc
from streams.kafka import make_producer, produce

FEEDBACK = "Please answer more concisely and cite your sources."


def events(rows: list[dict], n: int) -> list[tuple[bytes, str]]:
    out = []
    for i in range(n):
        row = rows[i % len(rows)]
        event = {
            "event_id": f"bench-{i}",
            "namespace": "bench",
            "timestamp": time.time(),
            "user_id": f"u{i % 50}",
            "query": row["query"][:2000],
            "response": row["response"][:2000],
            "feedback": [{"kind": "text", "text": FEEDBACK}],
        }
        out.append((json.dumps(event).encode(), "bench"))
    return out


def through_worker(embedder: str, broker: str, root: Path, records: list[tuple[bytes, str]]) -> dict:
    w = WorkerProc(
        root / embedder,
        broker,
        "http://127.0.0.1:9/v1",
        f"bench-{embedder}",
        f"bench{embedder}.",
        f"bench-{embedder}",
        embedder=embedder,
        refresh_min_logs=1_000_000,
        refresh_max_age_s=1e9,
        topic_partitions=1,
    )
    w.start(timeout=120)
    try:
        start = time.perf_counter()
        produce(make_producer(broker), w.topic("interactions"), records)
        w.wait_for(
            lambda: w.metric("uno_events_total", kind="interaction", result="ok") >= len(records),
            1800,
            "every event ingested",
            poll_s=0.1,
        )
        elapsed = time.perf_counter() - start
    finally:
        w.stop()
    return {"events": len(records), "seconds": round(elapsed, 2), "events_per_s": round(len(records) / elapsed, 1)}


def embedder_alone(embedder, records: list[tuple[bytes, str]]) -> dict:
    texts = [json.loads(value)["query"] for value, _ in records]
    start = time.perf_counter()
    for text in texts:
        embedder.embed([text, FEEDBACK])
    elapsed = time.perf_counter() - start
    return {"events": len(texts), "seconds": round(elapsed, 2), "events_per_s": round(len(texts) / elapsed, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=300)
    args = parser.parse_args()
    records = events(load_replay(), args.events)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        stack = LocalStack(root / "stack")
        broker = stack.up(["broker"])["broker"].url
        try:
            results = {
                "usem3_alone": embedder_alone(USEm3Embedder(), records),
                "usem3_worker": through_worker("usem3", broker, root, records),
                "null_alone": embedder_alone(HashingEmbedder(), records),
                "null_worker": through_worker("hashing", broker, root, records),
            }
        finally:
            stack.down()
    emit(
        {
            "benchmark": "ingest",
            "data": {
                "events": args.events,
                "texts": "replay queries (first 2,000 characters) + one simulated feedback",
            },
            "results": results,
            "ratios": {
                "usem3_worker_vs_embedder_alone": round(
                    results["usem3_worker"]["events_per_s"] / results["usem3_alone"]["events_per_s"], 2
                ),
                "null_worker_vs_usem3_worker": round(
                    results["null_worker"]["events_per_s"] / results["usem3_worker"]["events_per_s"], 1
                ),
            },
        }
    )


if __name__ == "__main__":
    main()
