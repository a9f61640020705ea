"""Plots of recorded benchmark results (PNG, matplotlib), for docs/benchmarks.md.

    python -m bench.plot [--dir docs/bench]

Reads the JSON the benchmarks wrote with ``--out`` and draws, for each one present:
``latency.json`` (bench.latency --rates): achieved ingest throughput and event-to-module latency
against offered load; ``memory.json`` and ``memory-rocksdb.json`` (bench.memory --out, with each store): worker RSS, and
the ingest rate, against events processed; ``memory-inprocess-memory.json`` and ``memory-inprocess-rocksdb.json``
(bench.memory --in-process): the same for the worker's code in one process, no broker; ``rules-fresh-quorum.json``
(bench.rules --sweep fresh_quorum=...): sybil rules published and recall by evidence against the quorum;
``rules-regulars.json`` (bench.rules --sweep regulars_alpha=...): the same against ``regulars_alpha``.
Needs the ``bench`` extra (``pip install -e '.[bench]'``, or ``make plots``).
"""

from __future__ import annotations

import argparse
import itertools
import json
from pathlib import Path


def latency(result: dict, out: Path) -> None:
    import matplotlib.pyplot as plt

    runs = sorted(result["runs"], key=lambda r: r["data"]["offered_rate_per_s"])
    offered = [r["data"]["offered_rate_per_s"] for r in runs]
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    left.plot(offered, [r["results"]["ingested_per_s"] for r in runs], "o-", label="achieved (all events in the state)")
    left.plot(offered, offered, ":", color="grey", label="offered")
    left.set(xlabel="offered events/s", ylabel="events/s", title="Ingest throughput (one worker, 2 cores)")
    left.legend()
    for measure, key, style in (
        ("in_module", "p50_s", "o-"),
        ("in_module", "p95_s", "s-"),
        ("new_version", "p95_s", "^:"),
    ):
        label = f"{key.removesuffix('_s')}, " + ("in a served module" if measure == "in_module" else "new version")
        right.plot(offered, [r["results"][measure][key] for r in runs], style, label=label)
    right.axhline(30, color="grey", linestyle=":", label="target p95 (30 s)")
    right.set(xlabel="offered events/s (sustained)", ylabel="seconds", title="Event to module")
    right.legend()
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


def memory(results: dict[str, dict], out: Path, title: str) -> None:
    """One series per store (the memory store: the default, in RAM; RocksDB: on disk)."""
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    for label, result in results.items():
        points = result["results"]["samples"]
        (line,) = left.plot([p["events"] for p in points], [p["rss_mib"] for p in points], "o-", label=label)
        peaks = [p for p in points if "rss_peak_mib" in p]
        if peaks:  # the highest reading between checkpoints (bench.memory samples every 0.2 s)
            left.plot(
                [p["events"] for p in peaks],
                [p["rss_peak_mib"] for p in peaks],
                "--",
                color=line.get_color(),
                label=f"{label}, peak",
            )
        rates = [
            (b["events"], (b["events"] - a["events"]) / (b["seconds"] - a["seconds"]))
            for a, b in itertools.pairwise(points)
        ]
        right.plot([e for e, _ in rates], [r for _, r in rates], "o-", label=label)
    left.set(xlabel="events processed", ylabel="RSS (MiB)", title=title)
    left.set_ylim(bottom=0)
    left.legend(fontsize="small")
    right.set(xlabel="events processed", ylabel="events/s since the last sample", title="Ingest rate as state grows")
    right.set_ylim(bottom=0)
    right.legend(fontsize="small")
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


def fresh_quorum(result: dict, out: Path) -> None:
    """Dev split: what a ring posting apart publishes, and what real requests lose, per ``fresh_quorum``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    def series(results: list[dict], key: str) -> tuple[list[int], list[float]]:
        points = sorted((int(r["settings"]["fresh_quorum"]), r["summary"][key]) for r in results)
        return [q for q, _ in points], [v for _, v in points]

    dev = result["dev"]
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    for name, label in (("spread_3", "ring of 3 posting apart"), ("spread_6", "ring of 6 posting apart")):
        left.plot(*series(dev[name], "sybil_published"), marker="o", label=label)
    left.plot(*series(dev["busy_spread"], "sybil_published"), marker="o", label="ring of 3, busy stream")
    left.set(xlabel="fresh_quorum (0: off)", ylabel="sybil rules published per run", title="What a ring publishes")
    right.plot(*series(dev["standard"], "evidence_recall"), marker="o", label="10 users per topic")
    right.plot(*series(dev["busy_spread"], "evidence_recall"), marker="o", label="100 users per topic (busy)")
    right.set(xlabel="fresh_quorum (0: off)", ylabel="recall by evidence", title="What real requests keep")
    _finish(fig, (left, right), "Fresh-only rules need fresh_quorum voices (dev split, bench.rules)", out)


def regulars(result: dict, out: Path) -> None:
    """Dev split: what a ring posting apart publishes, and what real requests keep, per ``regulars_alpha``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    def series(rows: list[dict], key: str) -> tuple[list[float], list[float]]:
        points = sorted((float(r["settings"]["regulars_alpha"]), r[key]) for r in rows)
        return [a for a, _ in points], [v for _, v in points]

    dev = result["dev"]
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    for name, label in (
        ("ring3_spread", "ring of 3 posting apart"),
        ("ring6_spread", "ring of 6 posting apart"),
        ("ring10_spread", "ring of 10 posting apart"),
        ("busy_100_ring6_spread", "ring of 6, busy stream"),
    ):
        left.plot(*series(dev[name], "sybil_published"), marker="o", label=label)
    left.set(xlabel="regulars_alpha (0: off)", ylabel="sybil rules published per run", title="What a ring publishes")
    for name, label in (
        ("standard", "10 users per topic"),
        ("users_per_topic_30", "30 users per topic"),
        ("busy_100", "100 users per topic (busy)"),
    ):
        right.plot(*series(dev[name], "evidence_recall"), marker="o", label=label)
    right.set(xlabel="regulars_alpha (0: off)", ylabel="recall by evidence", title="What real requests keep")
    _finish(fig, (left, right), "Rules only newcomers ask for, while the regulars are silent (dev split)", out)


def _finish(fig, axes, title: str, out: Path) -> None:
    """Grid and legend on each panel, the title, and the PNG written."""
    import matplotlib.pyplot as plt

    for ax in axes:
        ax.grid(alpha=0.3)
        ax.legend()
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", type=Path, default=Path("docs/bench"))
    args = parser.parse_args()
    if (args.dir / "rules-fresh-quorum.json").exists():
        fresh_quorum(json.loads((args.dir / "rules-fresh-quorum.json").read_text()), args.dir / "fresh-quorum.png")
        print(f"wrote {args.dir / 'fresh-quorum.png'}")
    if (args.dir / "rules-regulars.json").exists():
        regulars(json.loads((args.dir / "rules-regulars.json").read_text()), args.dir / "regulars.png")
        print(f"wrote {args.dir / 'regulars.png'}")
    if (args.dir / "latency.json").exists():
        latency(json.loads((args.dir / "latency.json").read_text()), args.dir / "latency.png")
        print(f"wrote {args.dir / 'latency.png'}")
    for png, title, stores in (
        (
            "memory.png",
            "Worker memory, default TTLs",
            {
                "memory store (11-29)": "memory.json",
                "RocksDB (12-01)": "memory-rocksdb.json",
                "RocksDB, heap trimmed (12-03)": "memory-rocksdb-trim.json",
            },
        ),
        (
            "memory-inprocess.png",
            "The worker's code, no broker, default TTLs",
            {"memory store (dict)": "memory-inprocess-memory.json", "RocksDB store": "memory-inprocess-rocksdb.json"},
        ),
    ):
        found = {
            label: json.loads((args.dir / name).read_text())
            for label, name in stores.items()
            if (args.dir / name).exists()
        }
        if found:
            memory(found, args.dir / png, title)
            print(f"wrote {args.dir / png}")


if __name__ == "__main__":
    main()
