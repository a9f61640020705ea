"""`uno eval` end to end: a small simulated stream through a real worker, the report checked."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import defaultdict

import msgspec
import pytest

from streams.devstack.launcher import LocalStack
from streams.evaluation import DEMO_SAMPLE
from streams.evaluation.simulate import Truth, simulate, write

pytestmark = pytest.mark.infra


@pytest.mark.timeout(900)
def test_uno_eval_reports_every_score(stack, stack_root, llm_base_url, tmp_path):
    # Real queries of the bundled sample's three topics: two in the stream, the third out of range.
    sample_truth = msgspec.json.decode(DEMO_SAMPLE.with_suffix(".truth.json").read_bytes(), type=Truth)
    by_topic: dict[str, list[str]] = defaultdict(list)
    for line in DEMO_SAMPLE.read_text().splitlines():
        event = json.loads(line)
        by_topic[sample_truth.labels[event["event_id"]]].append(event["query"])
    topics = [t.topic for t in sample_truth.topics][:2]
    # Built so that rules must be found: reliable users only, each with other feedback too (no noise),
    # beside an adversary and a sybil ring that must not be published.
    events, truth = simulate(
        by_topic,
        topics=topics,
        per_topic=16,
        held_out=2,
        users_per_topic=4,
        noisy_share=0.0,
        satisfied_share=0.3,
        adversarial_events=3,
        seed=5,
    )
    stream = tmp_path / "small.jsonl"
    write(events, truth, stream)
    out = tmp_path / "report.json"
    env = {**os.environ, "UNO_DATA_DIR": str(stack_root), "COLUMNS": "200"}  # the session's stack is found up
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "streams.cli",
            "eval",
            str(stream),
            "--preset",
            "demo",
            "--flush-after",
            "5",
            "--judge-endpoint",
            llm_base_url,
            "--judge-limit",
            "1",
            "--out",
            str(out),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=840,
    )
    assert done.returncode == 0, done.stderr[-3000:] + done.stdout[-3000:]
    assert "ARI / NMI / purity" in done.stdout and "judge win rate" in done.stdout
    report = json.loads(out.read_text())
    assert report["settled"] and report["events"] == len(events) == 2 * 16 + 3 + 6
    assert report["rules_mode"] == "extractive+llm" and "rules from" in done.stdout
    clustering = report["clustering"]
    assert clustering["labelled_logs"] == 41 and -1 <= clustering["ari"] <= 1 and 0 < clustering["purity"] <= 1
    assert report["routing"]["queries"] == 4 and 0 <= report["routing"]["accuracy"] <= 1
    assert report["out_of_range"]["queries"] == len(truth.out_of_range_queries) > 1
    rules = report["rules"]
    assert rules["match_threshold"] == 0.6 and rules["preferences"] == 4
    assert rules["published"] == len(rules["matches"]) and 0 <= rules["recall"] <= 1
    # Found, as the users said it: most of each rule's evidence is a phrasing of a hidden preference
    # of its topic (cosine to the preference's canonical wording is reported, but depends on wording).
    assert rules["evidence_recall"] > 0 and rules["evidence_precision"] > 0
    assert rules["adversarial_published"] == 0 and rules["sybil_published"] == 0 and rules["noise_published"] == 0
    assert report["modules"]["published"] >= 1 and report["llm"]["calls"] > 0
    assert report["llm"]["calls_per_1000_logs"] == round(
        report["llm"]["calls"] * 1000 / report["llm"]["feedback_logs"], 1
    )
    judge = report["judge"]
    assert judge["queries"] == 1 and 0 <= judge["win_rate_vs_no_module"] <= 1 and 0 <= judge["win_rate_vs_rag"] <= 1
    assert all(row.healthy for row in LocalStack(stack_root).status())  # it left the stack it found running
