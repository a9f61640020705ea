"""LLM calls per 1,000 feedback logs through real cluster refreshes, vs the reference method's 14 per log.

    python -m bench.refresh_cost [--logs 64] [--refresh-size 16]

Takes the first ``--logs`` real queries and responses of the replay set (round-robin over its
datasets), gives each log one piece of **simulated** verbal feedback (a fixed preference sentence
per dataset, written here; the replay set has no feedback), clusters them online with USE-m3, and
refreshes each cluster every ``--refresh-size`` logs through `ClusterRefresh` against the local
LLM server (started under .uno/ if not running); at the end every cluster with pending logs is
refreshed once, by the age trigger. Ingest is the worker's own (`processors.ingest.Ingest` over a
dict): the same redaction, clustering, pending lists and triggers. Counts every HTTP request the LLM wrapper made,
retries included, by purpose.
"""

from __future__ import annotations

import argparse
import time
from collections import defaultdict

from bench.common import emit, load_replay
from processors.embedders.usem3 import USEm3Embedder
from processors.ingest import Ingest
from processors.llm import ChatLLM
from processors.refresh import ClusterRefresh
from processors.store import ModuleStore
from streams.devstack.launcher import LLM_ALIAS, LocalStack
from uno_models import ClusterKnowledge, Feedback, FeedbackKind, InteractionEvent, Provenance, Settings

SIMULATED_PREFERENCE = [
    "Please cite the specific article or source that applies.",
    "Answer in under 100 words.",
    "Give the conclusion first, then the reasoning.",
    "Use a numbered list for the steps.",
    "Explain the technical terms in plain language.",
    "Add a concrete example.",
]
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
    # The worker's own ingest logic over a dict: the same clustering, pending lists and triggers.
    clock = [0.0]
    settings = Settings(refresh_min_logs=args.refresh_size, refresh_max_age_s=1.0)
    ingest = Ingest(settings, embedder, {}, clock=lambda: clock[0])
    knowledge: dict[int, ClusterKnowledge] = {}
    outcomes: dict[str, int] = defaultdict(int)
    batch_sizes: list[int] = []

    def run_refreshes() -> None:
        for _, request in ingest.take_outbox():
            cid = request.cluster_id
            kn = knowledge.get(cid) or ClusterKnowledge(namespace="bench", cluster_id=cid)
            result = refresh.run(kn, request.snapshot, request.logs, request.reservoir, now=clock[0])
            knowledge[cid] = result.knowledge
            batch_sizes.append(len(request.logs))
            outcomes[result.outcome] += 1

    start = time.perf_counter()
    for i, row in enumerate(picked):
        clock[0] = float(i)
        text = SIMULATED_PREFERENCE[datasets.index(row["dataset"]) % len(SIMULATED_PREFERENCE)]
        event = InteractionEvent(
            event_id=row["id"],
            namespace="bench",
            timestamp=float(i),
            user_id=f"u{i % 7}",
            query=row["query"],
            response=row["response"],
            feedback=[Feedback(kind=FeedbackKind.TEXT, text=text)],
        )
        with ingest.txn("bench"):
            ingest.interaction(event, Provenance("bench", 0, i, i))
            run_refreshes()
    clock[0] = float(args.logs) + 2 * settings.refresh_max_age_s  # the age trigger, at the end of the burst
    with ingest.txn("bench"):
        ingest.tick("bench")
        run_refreshes()
    elapsed = time.perf_counter() - start
    distilled = args.logs
    requests = llm.ledger.requests()
    emit(
        {
            "benchmark": "refresh_cost",
            "data": {
                "logs": args.logs,
                "feedback": "simulated: one fixed preference sentence per dataset",
                "refresh_size": args.refresh_size,
                "model": LLM_ALIAS,
            },
            "results": {
                "refreshes": len(batch_sizes),
                "mean_logs_per_refresh": round(distilled / max(1, len(batch_sizes)), 1),
                "clusters": len(ingest.namespaces.get("bench").active),
                "llm_requests": requests,
                "by_purpose": llm.ledger.summary(),
                "outcomes": dict(outcomes),
                "llm_calls_per_1000_logs": round(1000 * requests / max(1, distilled), 1),
                "tokens_per_log": round(llm.ledger.total_tokens() / max(1, distilled), 1),
                "wall_s": round(elapsed, 1),
            },
            "ratios": {
                "reference_calls_per_1000_logs": REFERENCE_CALLS_PER_LOG * 1000,
                "reference_over_ours": round(REFERENCE_CALLS_PER_LOG * distilled / max(1, requests), 1),
            },
        }
    )


if __name__ == "__main__":
    main()
