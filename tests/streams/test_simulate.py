"""The simulator: deterministic, labelled simulated, valid under the contract, with its ground truth."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from streams.evaluation import DEMO_SAMPLE
from streams.evaluation.simulate import ADVERSARIAL_RULE, Truth, simulate, write
from uno_models import InteractionEvent, decode

QUERIES = {t: [f"{t} question number {i}?" for i in range(30)] for t in ("law", "travel", "stories", "poems")}


def test_the_stream_is_deterministic_valid_and_carries_its_ground_truth(tmp_path):
    events, truth = simulate(
        QUERIES, topics=["law", "travel", "stories"], per_topic=20, adversarial_events=10, noisy_share=0.2, seed=3
    )
    again, _ = simulate(
        QUERIES, topics=["law", "travel", "stories"], per_topic=20, adversarial_events=10, noisy_share=0.2, seed=3
    )
    assert events == again and len(events) == 3 * 20 + 10 == truth.events
    for e in events:
        decode(json.dumps(e), InteractionEvent)  # every event satisfies the contract
        assert e["metadata"]["simulated"] == "true" and e["user_id"].startswith("sim-")
    assert [t.topic for t in truth.topics] == ["law", "travel", "stories"]
    prefs = [p for t in truth.topics for p in t.preferences]
    assert len(prefs) == len(set(prefs)) == 6  # two preferences of its own per topic
    users = Counter(e["user_id"] for e in events)
    assert users[truth.adversarial_user] == 10 and truth.adversarial_rule == ADVERSARIAL_RULE
    assert truth.noisy_users and set(truth.noisy_users) < set(users)
    held = {q for t in truth.topics for q in t.held_out_queries}
    assert held and not held & {e["query"] for e in events}  # held-out queries never appear in the stream
    assert set(truth.labels) == {e["event_id"] for e in events}
    assert Counter(truth.labels.values()) == {"law": 30, "travel": 20, "stories": 20}  # the adversary floods law
    assert truth.out_of_range_queries[0] == truth.out_of_range_query
    assert set(truth.out_of_range_queries[1:]) <= set(QUERIES["poems"])  # the topic left out of the stream
    path = write(events, truth, tmp_path / "s.jsonl")
    assert decode(path.read_bytes(), Truth).simulated is True


def test_too_few_queries_or_too_many_topics_is_a_clear_error():
    with pytest.raises(ValueError, match="distinct queries"):
        simulate({"law": ["a?", "b?"]}, per_topic=20)
    with pytest.raises(ValueError, match="at most 3 topics"):
        simulate({f"t{i}": [f"q{j}" for j in range(30)] for i in range(4)})


def test_the_bundled_demo_sample_is_labelled_simulated_and_valid():
    truth = decode(Path(DEMO_SAMPLE).with_suffix(".truth.json").read_bytes(), Truth)
    lines = DEMO_SAMPLE.read_text().splitlines()
    assert truth.simulated and len(lines) == truth.events
    assert all(decode(line, InteractionEvent).metadata["simulated"] == "true" for line in lines)
