"""Online clustering on the real replay queries: ours vs batch Ward (the reference) vs River DBSTREAM.

    python -m bench.clustering [--seeds 3]

Embeds the queries of ../shared/data/uno-replay/queries.jsonl with USE-m3 (cached under
.uno/cache), replays them in 3 shuffled stream orders, and reports, as JSON, the mean over the
orders of ARI / NMI / purity against the `dataset` labels, the cluster count and ms per event
(embedding excluded). For the online methods:

- `on_arrival`: the id each event got when it arrived (what the stream acts on);
- `on_arrival_resolved`: that id followed through later merges (ids are aliases, never renumbered);
- `end`: each event re-assigned to the nearest final cluster (`predict_one`).

Baselines: batch Ward at distance threshold 2.62 (the reference method, needs all data at once),
the reference code's single pass (nearest running-mean centroid within a cosine threshold, no
merges), and River's DBSTREAM.
"""

from __future__ import annotations

import argparse
import time
from collections import Counter

import numpy as np
from river import cluster as river_cluster
from sklearn.cluster import AgglomerativeClustering
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

from bench.common import emit, load_replay, replay_embeddings
from processors.clustering import OnlineClusterer
from processors.embedders.usem3 import USEm3Embedder


def scores(labels: np.ndarray, pred) -> dict:
    pred = np.asarray(pred)
    purity = sum(Counter(labels[pred == c]).most_common(1)[0][1] for c in set(pred)) / len(labels)
    return {
        "ari": adjusted_rand_score(labels, pred),
        "nmi": normalized_mutual_info_score(labels, pred),
        "purity": purity,
        "clusters": len(set(pred)),
    }


def ours(vectors: np.ndarray, labels: np.ndarray) -> dict:
    clusterer = OnlineClusterer()
    start = time.perf_counter()
    arrival = [clusterer.learn_vector(v).cluster_id for v in vectors]
    ms = (time.perf_counter() - start) / len(vectors) * 1e3
    return {
        "on_arrival": scores(labels, arrival),
        "on_arrival_resolved": scores(labels, [clusterer.resolve(c) for c in arrival]),
        "end": scores(labels, [clusterer.predict_one(v) for v in vectors]),
        "ms_per_event": ms,
    }


def single_pass(vectors: np.ndarray, labels: np.ndarray, min_cosine: float = 0.5) -> dict:
    sums: list[np.ndarray] = []
    start = time.perf_counter()
    arrival = []
    for v in vectors:
        if sums:
            centres = np.array(sums)
            sims = centres @ v / np.linalg.norm(centres, axis=1)
            best = int(np.argmax(sims))
            if sims[best] >= min_cosine:
                sums[best] = sums[best] + v
                arrival.append(best)
                continue
        sums.append(v.astype(np.float64).copy())
        arrival.append(len(sums) - 1)
    ms = (time.perf_counter() - start) / len(vectors) * 1e3
    centres = np.array(sums)
    end = np.argmax(vectors @ (centres / np.linalg.norm(centres, axis=1, keepdims=True)).T, axis=1)
    return {
        "on_arrival": scores(labels, arrival),
        "end": scores(labels, end),
        "ms_per_event": ms,
        "params": {"min_cosine": min_cosine},
    }


def dbstream(vectors: np.ndarray, labels: np.ndarray) -> dict:
    params = {
        "clustering_threshold": 1.0,
        "fading_factor": 0.001,
        "cleanup_interval": 4,
        "intersection_factor": 0.3,
        "minimum_weight": 1.0,
    }
    model = river_cluster.DBSTREAM(**params)
    rows = [dict(enumerate(v.tolist())) for v in vectors]
    start = time.perf_counter()
    arrival = []
    for x in rows:
        model.learn_one(x)
        arrival.append(model.predict_one(x))
    ms = (time.perf_counter() - start) / len(vectors) * 1e3
    return {
        "on_arrival": scores(labels, arrival),
        "end": scores(labels, [model.predict_one(x) for x in rows]),
        "ms_per_event": ms,
        "params": params,
    }


def batch_ward(vectors: np.ndarray, labels: np.ndarray, threshold: float = 2.62) -> dict:
    start = time.perf_counter()
    pred = AgglomerativeClustering(n_clusters=None, distance_threshold=threshold, linkage="ward").fit_predict(vectors)
    ms = (time.perf_counter() - start) / len(vectors) * 1e3
    return {"end": scores(labels, pred), "ms_per_event": ms, "params": {"distance_threshold": threshold}}


def mean_of(runs: list[dict]) -> dict:
    out: dict = {}
    for key, value in runs[0].items():
        if isinstance(value, dict) and key != "params":
            out[key] = mean_of([r[key] for r in runs])
        elif isinstance(value, (int, float)):
            out[key] = round(float(np.mean([r[key] for r in runs])), 4)
        else:
            out[key] = value
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    args = parser.parse_args()
    rows = load_replay()
    embedder = USEm3Embedder()
    vectors = replay_embeddings(rows, embedder).astype(np.float64)
    labels = np.array([r["dataset"] for r in rows])
    results: dict[str, list[dict]] = {"ours": [], "batch_ward": [], "single_pass": [], "river_dbstream": []}
    for seed in range(args.seeds):
        order = np.random.default_rng(seed).permutation(len(rows))
        v, y = vectors[order], labels[order]
        results["ours"].append(ours(v, y))
        results["batch_ward"].append(batch_ward(v, y))
        results["single_pass"].append(single_pass(v, y))
        results["river_dbstream"].append(dbstream(v, y))
    emit(
        {
            "benchmark": "clustering",
            "data": {"events": len(rows), "labels": len(set(labels)), "embedder": embedder.id, "seeds": args.seeds},
            "results": {name: mean_of(runs) for name, runs in results.items()},
            "ratios": {
                "ours_end_ari_vs_batch_ward": round(
                    np.mean([r["end"]["ari"] for r in results["ours"]])
                    / np.mean([r["end"]["ari"] for r in results["batch_ward"]]),
                    3,
                ),
                "ours_arrival_ari_vs_batch_ward": round(
                    np.mean([r["on_arrival"]["ari"] for r in results["ours"]])
                    / np.mean([r["end"]["ari"] for r in results["batch_ward"]]),
                    3,
                ),
                "dbstream_ms_vs_ours_ms": round(
                    np.mean([r["ms_per_event"] for r in results["river_dbstream"]])
                    / np.mean([r["ms_per_event"] for r in results["ours"]]),
                    1,
                ),
            },
        }
    )


if __name__ == "__main__":
    main()
