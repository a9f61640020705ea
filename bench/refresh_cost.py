"""LLM calls per 1,000 feedback logs through real cluster refreshes, vs the reference method's 14 per log.

    python -m bench.refresh_cost [--logs 1000] [--split dev]

A simulated stream (`uno simulate`: real uno-replay queries of the split's datasets, SIMULATED users
and feedback, noisy users, an adversary and a sybil ring; the replay set has no feedback) of at
least ``--logs`` feedback logs goes through the worker's own ingest and refresh code
(`processors.replay.BatchReplay`) with the **default settings**, against the local LLM server
(started under .uno/ if not running); at the end the age trigger refreshes what is pending. Counts
every HTTP request the LLM wrapper made, retries included, by purpose, and the same run with no
LLM as the baseline (0 calls: what the extractive path costs).
"""

from __future__ import annotations

import argparse
import json
import time

from bench.common import REPLAY, emit
from processors.embedders import make_embedder
from processors.embedders.base import Remembering
from processors.replay import BatchReplay
from processors.store import ModuleStore
from streams.devstack.launcher import LLM_ALIAS, LocalStack
from streams.evaluation.simulate import DATASET_SPLITS, load_queries, simulate
from streams.worker.app import make_refresh
from streams.worker.metrics import Metrics
from uno_models import Settings, decode_interaction

REFERENCE_CALLS_PER_LOG = 14  # UNO reference code: pair construction alone (uno-method.md)


def stream(split: str, logs: int) -> list[dict]:
    """Simulated events of the split's topics, repeated with fresh seeds (and ids) until ``logs``."""
    queries = {t: q for t, q in load_queries(REPLAY).items() if t in DATASET_SPLITS[split]}
    topics = DATASET_SPLITS[split][:3]
    events: list[dict] = []
    seed = 0
    while len(events) < logs:
        batch, _ = simulate(
            queries,
            namespace="bench",
            topics=topics,
            per_topic=34,
            held_out=8,
            pool=split,
            seed=seed,
            t0=1.767e9 + len(events),
        )
        events += batch
        seed += 1
    return events[:logs]


def run(settings: Settings, embedder, events: list[dict], llm_url: str) -> dict:
    metrics = Metrics()
    refresh = make_refresh(settings, llm_url, embedder, ModuleStore(embedder.id, embedder.dim), metrics)
    replay = BatchReplay(settings, embedder, refresh)
    started = time.perf_counter()
    for event in events:
        replay.interaction(decode_interaction(json.dumps(event)))
    replay.flush()
    ledger = refresh.llm.ledger if refresh.llm is not None else None
    requests = ledger.requests() if ledger else 0
    return {
        "llm": "SmolLM2-135M" if llm_url else "none",
        "feedback_logs": len(events),
        "refreshes": sum(replay.outcomes.values()),
        "outcomes": dict(replay.outcomes),
        "llm_requests": requests,
        "by_purpose": ledger.summary() if ledger else {},
        "llm_calls_per_1000_logs": round(1000 * requests / max(1, len(events)), 1),
        "tokens_per_log": round((ledger.total_tokens() if ledger else 0) / max(1, len(events)), 1),
        "wall_s": round(time.perf_counter() - started, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--logs", type=int, default=1000)
    parser.add_argument("--split", choices=["dev", "test"], default="dev")
    args = parser.parse_args()
    events = stream(args.split, args.logs)
    settings = Settings()
    embedder = Remembering(make_embedder(Settings()), size=None)  # the default embedder
    llm_url = LocalStack(".uno").up(["llm"])["llm"].url
    with_llm = run(settings, embedder, events, llm_url)
    without = run(settings, embedder, events, "")
    emit(
        {
            "benchmark": "refresh_cost",
            "data": {
                "logs": len(events),
                "split": args.split,
                "feedback": "SIMULATED (uno simulate)",
                "model": LLM_ALIAS,
                "settings": "defaults",
            },
            "results": {"with_llm": with_llm, "no_llm": without},
            "ratios": {
                "reference_calls_per_1000_logs": REFERENCE_CALLS_PER_LOG * 1000,
                "reference_over_ours": round(
                    REFERENCE_CALLS_PER_LOG * len(events) / max(1, with_llm["llm_requests"]), 1
                ),
            },
        }
    )


if __name__ == "__main__":
    main()
