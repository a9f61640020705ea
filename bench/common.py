"""Shared helpers of the benchmarks: the replay data set, its cached embeddings, JSON output."""

from __future__ import annotations

import hashlib
import json
import os
import sys
from pathlib import Path

import numpy as np

REPLAY = Path(
    os.environ.get("UNO_REPLAY", Path(__file__).resolve().parents[2] / "shared/data/uno-replay/queries.jsonl")
)
CACHE = Path(os.environ.get("UNO_BENCH_CACHE", ".uno/cache"))
QUERY_CHARS = 2_000  # queries are truncated before embedding (the longest is ~130k characters)


def load_replay(path: Path = REPLAY) -> list[dict]:
    if not path.exists():
        sys.exit(f"replay file {path} not found; set UNO_REPLAY")
    with path.open() as fh:
        return [json.loads(line) for line in fh]


def replay_embeddings(rows: list[dict], embedder) -> np.ndarray:
    """USE-m3 embeddings of the (truncated) queries, cached by content hash."""
    texts = [r["query"][:QUERY_CHARS] for r in rows]
    digest = hashlib.sha256(("\x00".join(texts) + embedder.id).encode()).hexdigest()[:16]
    path = CACHE / f"replay-{digest}.npy"
    if path.exists():
        return np.load(path)
    vectors = embedder.embed(texts)
    CACHE.mkdir(parents=True, exist_ok=True)
    np.save(path, vectors)
    return vectors


def emit(result: dict) -> None:
    json.dump(result, sys.stdout, indent=2, ensure_ascii=False)
    sys.stdout.write("\n")
