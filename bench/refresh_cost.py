"""LLM calls per 1,000 feedback logs through real cluster refreshes, vs the reference method's 14 per log.

    python -m bench.refresh_cost [--logs 64] [--refresh-size 16]

Takes the first ``--logs`` real queries and responses of the replay set (round-robin over its
datasets), gives each log one piece of **simulated** verbal feedback (a fixed preference sentence
per dataset, written here; the replay set has no feedback), clusters them online with USE-m3, and
refreshes each cluster every ``--refresh-size`` logs through `ClusterRefresh` against the local
LLM server (started under .uno/ if not running); at the end every cluster with pending logs is
refreshed once, as the age trigger would. Counts every HTTP request the LLM wrapper made,
retries included, by purpose.
"""

from __future__ import annotations

import argparse
import time
from collections import defaultdict

from bench.common import emit, load_replay
from processors.clustering import OnlineClusterer
from processors.embedders.usem3 import USEm3Embedder
from processors.llm import ChatLLM
from processors.refresh import ClusterRefresh
from processors.store import ModuleStore
from streams.launcher import LLM_ALIAS, LocalStack
from uno_models import ClusterKnowledge, Feedback, FeedbackKind, LogRecord

SIMULATED_PREFERENCE = [
    "Please cite the specific article or source that applies.", "Answer in under 100 words.",
    "Give the conclusion first, then the reasoning.", "Use a numbered list for the steps.",
    "Explain the technical terms in plain language.", "Add a concrete example.",
]  # fmt: skip
REFERENCE_CALLS_PER_LOG = 14  # UNO reference code: pair construction alone (uno-method.md)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--logs", type=int, default=64)
    parser.add_argument("--refresh-size", type=int, default=16)
    args = parser.parse_args()
    rows = load_replay()
    by_dataset = defaultdict(list)
    for row in rows:
        by_dataset[row["dataset"]].append(row)
    datasets = sorted(by_dataset)
    picked = [by_dataset[datasets[i % len(datasets)]][i // len(datasets)] for i in range(args.logs)]

    llm_url = LocalStack(".uno").up(["llm"])["llm"].url
    llm = ChatLLM(llm_url, LLM_ALIAS)
    embedder = USEm3Embedder()
    store = ModuleStore(embedder.id, embedder.dim)
    refresh = ClusterRefresh(llm, embedder, store)
    clusterer = OnlineClusterer(namespace="bench", embedder_id=embedder.id)
    vectors = embedder.embed([r["query"] for r in picked])
    pending: dict[int, list[LogRecord]] = defaultdict(list)
    knowledge: dict[int, ClusterKnowledge] = {}
    outcomes: dict[str, int] = defaultdict(int)
    batch_sizes: list[int] = []

    def run_refresh(cid: int, logs: list[LogRecord], now: float) -> None:
        kn = knowledge.get(cid) or ClusterKnowledge(namespace="bench", cluster_id=cid)
        result = refresh.run(kn, clusterer.snapshot(cid), logs, now=now)
        knowledge[cid] = result.knowledge
        batch_sizes.append(len(logs))
        outcomes[result.outcome] += 1

    start = time.perf_counter()
    for i, (row, vector) in enumerate(zip(picked, vectors, strict=True)):
        cid = clusterer.learn_vector(vector, timestamp=float(i), feedback=True).cluster_id
        for old in list(pending):  # fold logs pending on merged ids into their survivor
            if clusterer.resolve(old) != old:
                pending[clusterer.resolve(old)] += pending.pop(old)
        text = SIMULATED_PREFERENCE[datasets.index(row["dataset"]) % len(SIMULATED_PREFERENCE)]
        pending[cid].append(LogRecord(event_id=row["id"], namespace="bench", timestamp=float(i), user_id=f"u{i % 7}",
                                      query=row["query"][:4000], response=row["response"][:4000],
                                      feedback=[Feedback(kind=FeedbackKind.TEXT, text=text)]))  # fmt: skip
        if len(pending[cid]) >= args.refresh_size:
            run_refresh(cid, pending.pop(cid), float(i))
    for cid in list(pending):  # what the age trigger (T seconds) does at the end of a burst
        run_refresh(clusterer.resolve(cid), pending.pop(cid), float(args.logs))
    elapsed = time.perf_counter() - start
    distilled = args.logs
    requests = llm.ledger.requests()
    emit({
        "benchmark": "refresh_cost",
        "data": {"logs": args.logs, "feedback": "simulated: one fixed preference sentence per dataset",
                 "refresh_size": args.refresh_size, "model": LLM_ALIAS},
        "results": {"refreshes": len(batch_sizes), "mean_logs_per_refresh": round(distilled / max(1, len(batch_sizes)), 1),
                    "clusters": len(clusterer.active_ids),
                    "llm_requests": requests, "by_purpose": llm.ledger.summary(), "outcomes": dict(outcomes),
                    "llm_calls_per_1000_logs": round(1000 * requests / max(1, distilled), 1),
                    "tokens_per_log": round(llm.ledger.total_tokens() / max(1, distilled), 1),
                    "wall_s": round(elapsed, 1)},
        "ratios": {"reference_calls_per_1000_logs": REFERENCE_CALLS_PER_LOG * 1000,
                   "reference_over_ours": round(REFERENCE_CALLS_PER_LOG * distilled / max(1, requests), 1)},
    })  # fmt: skip


if __name__ == "__main__":
    main()
