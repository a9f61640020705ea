"""The retrieval guard's threshold, measured on the real replay queries.

    python -m bench.out_of_range [--seeds 3] [--min-logs 3]

The 9 datasets of ../shared/data/uno-replay/queries.jsonl are split into 3 folds of 3. In each
fold, the other 6 datasets are "seen": 70% of their queries stream through `OnlineClusterer` (USE-m3,
one namespace, as one product would), and every cluster with at least ``--min-logs`` queries gets a
module at its query centroid, labelled with the dataset most of its queries come from. Then:

- the held-out 30% of the seen datasets should be routed: a hit is a nearest module at or above the
  threshold whose label is the query's own dataset (`routing_accuracy`);
- the 3 unseen datasets should get no module: any similarity at or above the threshold is a false
  route (`false_route_rate`).

The search is the store's (cosine against query centroids); the sweep over thresholds reports both
rates, and `chosen` is the threshold with the best routing accuracy minus false-route rate
(Youden's J), averaged over folds and seeds. The baseline in the same run is no guard at all
(threshold 0: everything routed), which is what the reference method does.
"""

from __future__ import annotations

import argparse
from collections import Counter

import numpy as np

from bench.common import emit, load_replay, replay_embeddings
from processors.clustering import OnlineClusterer
from processors.embedders.usem3 import USEm3Embedder

THRESHOLDS = [round(t, 2) for t in np.arange(0.0, 0.81, 0.05)]


def modules(vectors: np.ndarray, labels: list[str], min_logs: int) -> tuple[np.ndarray, list[str]]:
    clusterer = OnlineClusterer()
    arrival = [clusterer.learn_vector(v).cluster_id for v in vectors]
    members: dict[int, list[str]] = {}
    for cid, label in zip(arrival, labels, strict=True):
        members.setdefault(clusterer.resolve(cid), []).append(label)
    centroids, owners = [], []
    for cid, names in members.items():
        if len(names) >= min_logs:
            c = np.asarray(clusterer.snapshot(cid).query_centroid)
            centroids.append(c / np.linalg.norm(c))
            owners.append(Counter(names).most_common(1)[0][0])
    return np.array(centroids), owners


def fold(
    vectors: np.ndarray, datasets: np.ndarray, unseen: set[str], rng: np.random.Generator, min_logs: int
) -> dict[float, tuple[float, float]]:
    seen_idx = np.array([i for i, d in enumerate(datasets) if d not in unseen])
    rng.shuffle(seen_idx)
    cut = int(len(seen_idx) * 0.7)
    train, held = seen_idx[:cut], seen_idx[cut:]
    unseen_idx = np.array([i for i, d in enumerate(datasets) if d in unseen])
    centroids, owners = modules(vectors[train], list(datasets[train]), min_logs)
    out = {}
    held_sims = vectors[held] @ centroids.T
    best = held_sims.argmax(axis=1)
    best_sim = held_sims.max(axis=1)
    right = np.array([owners[b] == datasets[i] for b, i in zip(best, held, strict=True)])
    unseen_best = (vectors[unseen_idx] @ centroids.T).max(axis=1)
    for t in THRESHOLDS:
        out[t] = (float(np.mean(right & (best_sim >= t))), float(np.mean(unseen_best >= t)))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--min-logs", type=int, default=3)
    args = parser.parse_args()
    rows = load_replay()
    vectors = replay_embeddings(rows, USEm3Embedder()).astype(np.float32)
    datasets = np.array([r["dataset"] for r in rows])
    names = sorted(set(datasets))
    runs: list[dict[float, tuple[float, float]]] = []
    for seed in range(args.seeds):
        rng = np.random.default_rng(seed)
        order = list(rng.permutation(names))
        for f in range(3):
            runs.append(fold(vectors, datasets, set(order[f * 3 : (f + 1) * 3]), rng, args.min_logs))
    sweep = {
        t: {
            "routing_accuracy": float(np.mean([r[t][0] for r in runs])),
            "false_route_rate": float(np.mean([r[t][1] for r in runs])),
        }
        for t in THRESHOLDS
    }
    chosen = max(THRESHOLDS, key=lambda t: sweep[t]["routing_accuracy"] - sweep[t]["false_route_rate"])
    emit(
        {
            "benchmark": "out_of_range_guard",
            "queries": len(rows),
            "datasets": len(names),
            "folds": len(runs),
            "min_logs_per_module": args.min_logs,
            "chosen_threshold": chosen,
            "at_chosen": sweep[chosen],
            "baseline_no_guard": sweep[0.0],
            "sweep": sweep,
        }
    )


if __name__ == "__main__":
    main()
