"""`uno eval`'s scores (pure logic here; the end-to-end run is in test_eval_run.py)."""

from __future__ import annotations

import pytest
from rich.console import Console

from processors.embedders.hashing import HashingEmbedder
from streams.evaluation.evaluate import (
    EvalOptions,
    cluster_topics,
    clustering_scores,
    llm_cost,
    rag_prompt,
    routing_scores,
    rule_scores,
    run_eval,
)
from streams.evaluation.simulate import ADVERSARIAL_RULE, simulate

QUERIES = {t: [f"{t} question number {i}?" for i in range(30)] for t in ("law", "travel", "stories")}


def test_clustering_scores_against_labels():
    labels = {"a": "law", "b": "law", "c": "travel", "d": "travel"}
    perfect = clustering_scores({"a": 0, "b": 0, "c": 5, "d": 5}, labels)
    assert perfect == {"labelled_logs": 4, "clusters": 2, "topics": 2, "ari": 1.0, "nmi": 1.0, "purity": 1.0}
    merged = clustering_scores({"a": 0, "b": 0, "c": 0, "d": 0, "unlabelled": 3}, labels)
    assert merged["ari"] == 0.0 and merged["purity"] == 0.5 and merged["labelled_logs"] == 4
    assert clustering_scores({"x": 1}, labels) == {"labelled_logs": 0}


def test_routing_counts_a_query_right_only_when_its_cluster_is_of_its_topic():
    topic_of = cluster_topics(
        {"a": 0, "b": 0, "c": 1, "d": 1, "e": 1}, {"a": "law", "b": "law", "c": "travel", "d": "travel", "e": "law"}
    )
    assert topic_of == {0: "law", 1: "travel"}
    scores = routing_scores([("law", 0), ("law", 1), ("travel", None), ("travel", 1)], topic_of)
    assert scores == {"queries": 4, "routed": 3, "correct": 2, "accuracy": 0.5}


def test_rule_scores_precision_recall_adversarial_and_noise():
    _, truth = simulate(QUERIES, topics=["law", "travel"], per_topic=20, seed=1)
    law, travel = truth.topics
    noisy = truth.noisy_users[0]
    rules = [
        {"cluster_id": 0, "text": law.preferences[0], "user_support": {"sim-law-1": 2, "sim-law-2": 1}},
        {"cluster_id": 0, "text": travel.preferences[0], "user_support": {"sim-law-1": 1}},  # another topic's
        {"cluster_id": 0, "text": ADVERSARIAL_RULE, "user_support": {"sim-law-3": 1, truth.adversarial_user: 5}},
        {"cluster_id": 1, "text": "Mention the weather forecast.", "user_support": {noisy: 3}},
    ]
    embed = HashingEmbedder(512).embed
    scores = rule_scores(rules, truth, {0: "law", 1: "travel"}, embed, threshold=0.9)
    assert scores["published"] == 4 and scores["precision"] == 0.25  # only the first states its topic's preference
    assert scores["recall"] == 0.25 and scores["preferences_found"] == [law.preferences[0]]
    assert scores["adversarial_published"] == 1 and scores["noise_published"] == 1
    assert [m["correct"] for m in scores["matches"]] == [True, False, False, False]
    assert rule_scores([], truth, {}, embed, 0.6)["recall"] == 0.0


def test_llm_cost_per_thousand_logs_and_the_rag_prompt():
    assert llm_cost(calls=91, tokens=50_000, logs=70) == {
        "calls": 91,
        "tokens": 50_000,
        "feedback_logs": 70,
        "calls_per_1000_logs": 1300.0,
        "tokens_per_1000_logs": 714_286,
        "reference_calls_per_1000_logs": 14_000,
    }
    embed = HashingEmbedder(256).embed
    past = [
        {
            "query": "How do I appeal a fine?",
            "response": "Write to the court.",
            "feedback": [{"kind": "text", "text": "Cite the article."}],
        },
        {"query": "Best pasta recipe?", "response": "Boil it.", "feedback": [{"kind": "thumbs", "value": -1}]},
    ]
    messages = rag_prompt("How can I appeal a parking fine?", past, embed([p["query"] for p in past]), embed, k=1)
    assert messages[-1] == {"role": "user", "content": "How can I appeal a parking fine?"}
    assert "appeal a fine" in messages[0]["content"] and "Cite the article." in messages[0]["content"]
    assert "pasta" not in messages[0]["content"]


def test_one_namespace_at_a_time(tmp_path):
    stream = tmp_path / "s.jsonl"
    stream.write_text('{"namespace": "a"}\n{"namespace": "b"}\n')
    with pytest.raises(ValueError, match="one namespace at a time"):
        run_eval(Console(), tmp_path, stream, None, HashingEmbedder().embed, "hashing-256", EvalOptions())
