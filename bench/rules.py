"""Rules from simulated feedback, scored against the hidden preferences: the whole pipeline in one process.

    python -m bench.rules [--split dev|test|both] [--seeds 3] [--per-topic 36] [--set theme_similarity=0.5 ...]
    python -m bench.rules --sweep theme_similarity=0.4,0.5,0.6 --split dev
    python -m bench.rules --split test --pool es      # a stream in Spanish (or de: German)
    python -m bench.rules --split test --users-per-topic 100   # a busy stream: most users comment once
    python -m bench.rules --split dev --sybil-spread   # the ring's ids post apart, between other users' logs
    python -m bench.rules --split dev --compound 0.3   # 30% of requests ask for both of a topic's preferences
    python -m bench.rules --split dev --verbose 0.3    # 30% of requests come with a sentence of context
    python -m bench.rules --split test --verbose 0.3 --verbose-contexts held_out_2   # contexts written apart
    python -m bench.rules --split dev --courtesy 0.8   # satisfied users praise the answer in words
    python -m bench.rules --split dev --casual 0.5     # half the users type as in a chat box
    python -m bench.rules --split dev --rounds 6       # a longer stream: each query asked six times

Each run simulates a stream (`streams.evaluation.simulate`: real uno-replay queries of the split's
datasets, SIMULATED users: reliable and noisy ones, an adversary, a sybil ring, off-topic remarks,
preferences from the split's half of the pool), feeds it to the worker's own ingest and refresh
code (`processors.replay.BatchReplay`, no LLM: the extractive path), and scores what was published
with `uno eval`'s functions: rule precision and recall (cosine >= 0.6 to a hidden preference of the
rule's topic), adversarial / sybil / noise rules published, routing of held-out queries and false
routes of unseen topics, and the purity of the themes behind the published rules (how much of their
evidence phrases one preference). Parameters are tuned on ``dev`` (its datasets and its preference phrasings)
and reported on ``test``, which shares neither. The baseline in the same run is the worker's
defaults (``--set`` / ``--sweep`` change them).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections import Counter

from bench.common import REPLAY, emit
from processors.clustering import resolve_alias
from processors.embedders import make_embedder
from processors.embedders.base import Remembering
from processors.pii import Pseudonymiser
from processors.refresh import ClusterRefresh
from processors.replay import BatchReplay
from processors.retrieve import Retriever
from processors.store import ModuleStore
from streams.evaluation.evaluate import (
    cluster_topics,
    clustering_scores,
    evidence_scores,
    phrasing_key,
    preference_of,
    preference_of_phrasing,
    pseudonymised,
    routing_scores,
    rule_scores,
)
from streams.evaluation.simulate import (
    COURTESY,
    COURTESY_TEST,
    DATASET_SPLITS,
    LANGUAGE_CHATTER,
    LANGUAGE_COURTESY,
    LANGUAGE_POOLS,
    VERBOSE_CONTEXT_SETS,
    load_queries,
    simulate,
)
from streams.worker.app import make_refresh
from streams.worker.metrics import Metrics
from uno_models import Settings, decode_interaction, load_settings


def run(
    settings: Settings,
    embedder,
    split: str,
    seed: int,
    per_topic: int,
    held_out: int,
    rounds: int = 1,
    sybil_users: int = 3,
    pool: str | None = None,
    users_per_topic: int = 10,
    sybil_spread: bool = False,
    sybil_history: int = 0,
    sybil_oppose: bool = False,
    compound_share: float = 0.0,
    verbose_share: float = 0.0,
    courtesy_share: float = 0.0,
    approving_share: float = 0.0,
    casual_share: float = 0.0,
    verbose_contexts: str = "",
) -> dict:
    queries = {t: q for t, q in load_queries(REPLAY).items() if t in DATASET_SPLITS[split]}
    topics = DATASET_SPLITS[split][:3]
    events, truth = simulate(
        queries,
        namespace="bench",
        topics=topics,
        per_topic=per_topic,
        rounds=rounds,
        held_out=held_out,
        pool=pool or split,
        seed=seed,
        sybil_users=sybil_users,
        users_per_topic=users_per_topic,
        sybil_spread=sybil_spread,
        sybil_history=sybil_history,
        sybil_oppose=sybil_oppose,
        compound_share=compound_share,
        verbose_share=verbose_share,
        courtesy_share=courtesy_share,
        approving_share=approving_share,
        casual_share=casual_share,
        verbose_contexts=verbose_contexts,
    )
    store = ModuleStore(embedder.id, embedder.dim)
    refresh: ClusterRefresh = make_refresh(settings, "", embedder, store, Metrics())
    replay = BatchReplay(settings, embedder, refresh)
    started = time.perf_counter()
    for event in events:
        replay.interaction(decode_interaction(json.dumps(event)))
    replay.flush()
    elapsed = time.perf_counter() - started
    meta = replay.ingest.namespaces.get("bench")
    assigned = {
        stored.log.event_id: resolve_alias(meta.aliases, stored.cluster_id)
        for _, stored in replay.ingest.logs.items_with_prefix("bench/")
        if stored.cluster_id >= 0
    }
    topic_of = cluster_topics(assigned, truth.labels)
    modules = store.list("bench")
    behind = {(ns, cid, r.id): r for (ns, cid), k in replay.knowledge.items() for r in k.rules}  # modules carry counts
    published = {("bench", m.cluster_id, r.id) for m in modules for r in m.rules}
    rules = [
        {"text": r.text, "user_support": behind[("bench", m.cluster_id, r.id)].user_support}
        | {"cluster_id": m.cluster_id, "evidence": r.evidence}
        for m in modules
        for r in m.rules
    ]
    pseudonym = Pseudonymiser(settings.pseudonym_key())
    truth = pseudonymised(truth, lambda user: pseudonym("bench", user))  # users as ingest stored them
    scores = rule_scores(rules, truth, topic_of, embedder.embed, 0.6)
    discovered = evidence_scores(rules, truth, topic_of)
    retriever = Retriever(embedder, store, settings.out_of_range_similarity)

    def routed(q: str) -> int | None:
        found = retriever.retrieve("bench", q)
        return found.module.cluster_id if found.module is not None else None

    held = [(t.topic, q) for t in truth.topics for q in t.held_out_queries]
    false = sum(1 for q in truth.out_of_range_queries if routed(q) is not None)
    return {
        "split": split,
        "seed": seed,
        "events": len(events),
        "clustering": clustering_scores(assigned, truth.labels),
        "rules": {
            k: scores[k] for k in ("published", "precision", "recall", "adversarial_published", "noise_published")
        }
        | {"sybil_published": _sybil(rules, truth, embedder), "courtesy_published": _courtesy(rules)}
        | ({"opposed_found": _states(rules, truth.sybil_opposes)} if truth.sybil_opposes else {})
        | discovered
        | {"theme_purity": _purity(replay.knowledge, published)},
        "routing": routing_scores([(t, routed(q)) for t, q in held], topic_of),
        "false_route_rate": round(false / max(1, len(truth.out_of_range_queries)), 4),
        "outcomes": dict(replay.outcomes),
        "seconds": round(elapsed, 1),
        "texts": [r["text"] for r in rules],
    }


def _sybil(rules: list[dict], truth, embedder) -> int:
    ring = set(truth.sybil_users)
    if not rules:
        return 0
    sims = embedder.embed([r["text"] for r in rules]) @ embedder.embed([truth.sybil_rule])[0]
    return sum(
        1
        for r, s in zip(rules, sims, strict=True)
        if s >= 0.6 or (set(r["user_support"]) and set(r["user_support"]) <= ring)
    )


def _states(rules: list[dict], preference: str) -> int:
    """1 when a published rule states ``preference`` by its evidence (most of its statements phrase it)."""
    phrasing = preference_of_phrasing()
    for r in rules:
        said = Counter(preference_of(e, phrasing) for e in r.get("evidence", []))
        if said and said.most_common(1)[0][0] == preference:
            return 1
    return 0


def _courtesy(rules: list[dict]) -> int:
    """Rules most of whose evidence is the simulated users' praise or thanks: a remark, not a request."""
    praise = [*COURTESY, *COURTESY_TEST, *(t for texts in LANGUAGE_COURTESY.values() for t in texts)]
    thanks = [t for _, texts in LANGUAGE_CHATTER.values() for t in texts]
    said = {phrasing_key(t) for t in (*praise, *thanks, "thanks", "great, thanks", "谢谢")}
    return sum(1 for r in rules if 2 * sum(phrasing_key(e) in said for e in r["evidence"]) > len(r["evidence"]))


def _purity(knowledge, published: set) -> float | None:
    """How much of the evidence behind the published rules phrases each rule's main preference (the
    simulator knows which preference a statement phrases), weighted by how often it was said: below 1,
    themes mixed requests that mean different things."""
    phrasing = preference_of_phrasing()
    main = total = 0
    for (ns, cid), k in knowledge.items():
        for theme in k.themes:
            if (ns, cid, theme.id) not in published:
                continue
            said = Counter()
            for e in theme.exemplars:
                if (pref := preference_of(e.text, phrasing)) is not None:
                    said[pref] += e.count
            if said:
                main += said.most_common(1)[0][1]
                total += sum(said.values())
    return round(main / total, 4) if total else None


def summary(runs: list[dict]) -> dict:
    def mean(path: list[str]) -> float | None:
        values = []
        for r in runs:
            v = r
            for p in path:
                v = v.get(p) if isinstance(v, dict) else None
            if v is not None:
                values.append(float(v))
        return round(statistics.mean(values), 4) if values else None

    return {
        "runs": len(runs),
        "precision": mean(["rules", "precision"]),
        "recall": mean(["rules", "recall"]),
        "evidence_precision": mean(["rules", "evidence_precision"]),
        "evidence_recall": mean(["rules", "evidence_recall"]),
        "published": mean(["rules", "published"]),
        "duplicate_rules": mean(["rules", "duplicate_rules"]),
        "theme_purity": mean(["rules", "theme_purity"]),
        "adversarial_published": mean(["rules", "adversarial_published"]),
        "sybil_published": mean(["rules", "sybil_published"]),
        "noise_published": mean(["rules", "noise_published"]),
        "courtesy_published": mean(["rules", "courtesy_published"]),
        "opposed_found": mean(["rules", "opposed_found"]),
        "routing_accuracy": mean(["routing", "accuracy"]),
        "false_route_rate": mean(["false_route_rate"]),
        "ari": mean(["clustering", "ari"]),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", choices=["dev", "test", "both"], default="both")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--per-topic", type=int, default=34)
    parser.add_argument("--held-out", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=1, help="each query of the stream asked this many times")
    parser.add_argument("--sybil-users", type=int, default=3, help="fresh ids in the sybil ring")
    parser.add_argument(
        "--sybil-spread", action="store_true", help="the ring's ids post apart, between other users' logs"
    )
    parser.add_argument(
        "--users-per-topic", type=int, default=10, help="simulated users per topic (100: most comment once)"
    )
    parser.add_argument(
        "--compound", type=float, default=0.0, help="share of requests that ask for both of a topic's preferences"
    )
    parser.add_argument(
        "--verbose", type=float, default=0.0, help="share of requests said among other sentences (en and zh pools)"
    )
    parser.add_argument(
        "--verbose-contexts",
        choices=sorted(VERBOSE_CONTEXT_SETS),
        default="",
        help="what verbose requests are said among (default: the split's own; held_out_2: written apart)",
    )
    parser.add_argument(
        "--courtesy", type=float, default=0.0, help="share of satisfied users' feedback with praise (every pool)"
    )
    parser.add_argument(
        "--approving",
        type=float,
        default=0.0,
        help="share of requests made beside a thumbs up or a copy (the answer approved, a change asked)",
    )
    parser.add_argument(
        "--casual", type=float, default=0.0, help="share of users who type as in a chat box (lower case, pls, u)"
    )
    parser.add_argument(
        "--sybil-history", type=int, default=0, help="thumbs up each ring id gives first, early and apart"
    )
    parser.add_argument(
        "--sybil-oppose",
        action="store_true",
        help="the ring writes against one of its topic's real preferences (opposed_found: is it still published?)",
    )
    parser.add_argument("--set", action="append", default=[], help="a setting for every run: name=value")
    parser.add_argument("--sweep", default="", help="one setting over values: name=v1,v2,...")
    parser.add_argument("--texts", action="store_true", help="print the published rule texts of each run")
    parser.add_argument(
        "--pool",
        choices=sorted(LANGUAGE_POOLS),
        help="preferences and users of another language (the split still chooses the replay datasets)",
    )
    args = parser.parse_args()
    base = dict(kv.split("=", 1) for kv in args.set)
    variants = [{}]
    if args.sweep:
        name, values = args.sweep.split("=", 1)
        variants = [{name: v} for v in values.split(",")]
    embedder = Remembering(make_embedder(Settings()), size=None)  # the default embedder
    splits = ["dev", "test"] if args.split == "both" else [args.split]
    results = []
    for variant in variants:
        settings = load_settings(env={}, toml_path=None, **base, **variant)
        for split in splits:
            runs = [
                run(
                    settings,
                    embedder,
                    split,
                    seed,
                    args.per_topic,
                    args.held_out,
                    rounds=args.rounds,
                    sybil_users=args.sybil_users,
                    pool=args.pool,
                    users_per_topic=args.users_per_topic,
                    sybil_spread=args.sybil_spread,
                    sybil_history=args.sybil_history,
                    sybil_oppose=args.sybil_oppose,
                    compound_share=args.compound,
                    verbose_share=args.verbose,
                    courtesy_share=args.courtesy,
                    approving_share=args.approving,
                    casual_share=args.casual,
                    verbose_contexts=args.verbose_contexts,
                )
                for seed in range(args.seeds)
            ]
            if not args.texts:
                for r in runs:
                    r.pop("texts")
            results.append(
                {"settings": {**base, **variant}, "split": split, "pool": args.pool or split}
                | {"users_per_topic": args.users_per_topic, "sybil_users": args.sybil_users}
                | {
                    "sybil_spread": args.sybil_spread,
                    "sybil_history": args.sybil_history,
                    "sybil_oppose": args.sybil_oppose,
                    "compound": args.compound,
                    "verbose": args.verbose,
                    "verbose_contexts": args.verbose_contexts or None,
                    "courtesy": args.courtesy,
                    "approving": args.approving,
                    "casual": args.casual,
                    "summary": summary(runs),
                }
                | {"runs": runs}
            )
    emit({"benchmark": "rules", "tuned_on": "dev", "results": results})


if __name__ == "__main__":
    main()
