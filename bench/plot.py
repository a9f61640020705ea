"""Plots of recorded benchmark results (PNG, matplotlib), for docs/benchmarks.md.

    python -m bench.plot [--dir docs/bench]

Reads the JSON the benchmarks wrote with ``--out`` and draws, for each one present:
``latency.json`` (bench.latency --rates): achieved ingest throughput and event-to-module latency
against offered load; ``memory.json`` (bench.memory --out): worker RSS against events processed.
Needs the ``bench`` extra (``pip install -e '.[bench]'``, or ``make plots``).
"""

from __future__ import annotations

import argparse
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
    for key, style in (("p50_s", "o-"), ("p95_s", "s--")):
        right.plot(offered, [r["results"][key] for r in runs], style, label=key.removesuffix("_s"))
    right.axhline(30, color="grey", linestyle=":", label="target p95 (30 s)")
    right.set(xlabel="offered events/s", ylabel="seconds", title="Event to published module")
    right.legend()
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


def memory(result: dict, out: Path) -> None:
    import matplotlib.pyplot as plt

    points = result["results"]["samples"]
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot([p["events"] for p in points], [p["rss_mib"] for p in points], "o-")
    ax.set(xlabel="events processed", ylabel="worker RSS (MiB)", title="Worker memory")
    ax.set_ylim(bottom=0)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", type=Path, default=Path("docs/bench"))
    args = parser.parse_args()
    for name, draw in (("latency", latency), ("memory", memory)):
        source = args.dir / f"{name}.json"
        if source.exists():
            draw(json.loads(source.read_text()), args.dir / f"{name}.png")
            print(f"wrote {args.dir / name}.png")


if __name__ == "__main__":
    main()
