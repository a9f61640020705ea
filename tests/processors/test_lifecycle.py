"""Module lifecycle in the core: merges fold an absorbed cluster's rules into its survivor (no double
counting) and withdraw its module; retired clusters' modules are withdrawn. Real USE-m3 and real
Qdrant local mode."""

from __future__ import annotations

import json

import msgspec
import numpy as np
import pytest

from processors.embedders.usem3 import USEm3Embedder
from processors.ingest import Ingest
from processors.noise import NoiseFilter
from processors.refresh import ClusterRefresh, module_digest
from processors.store import ModuleStore
from processors.themes import ThemeBook
from uno_models import (
    ClusterKnowledge,
    ClusterSnapshot,
    ExperienceModule,
    Feedback,
    FeedbackKind,
    LogRecord,
    ModuleKind,
    ModulePublished,
    Provenance,
    Rule,
    Settings,
    decode_interaction,
)


@pytest.fixture(scope="module")
def embedder():
    return USEm3Embedder()


def log(i: int, user: str, text: str) -> LogRecord:
    return LogRecord(
        event_id=f"e{i}",
        namespace="n",
        timestamp=float(i),
        user_id=user,
        query="q",
        feedback=[Feedback(kind=FeedbackKind.TEXT, text=text)],
    )


def test_a_fold_merges_the_same_theme_and_counts_a_log_once(embedder):
    book = ThemeBook.from_settings(embedder, Settings())
    a = book.update(
        ClusterKnowledge(namespace="n", cluster_id=1),
        [log(1, "u1", "Cite the statute article."), log(2, "u2", "Please cite the statute article.")],
        now=1.0,
    ).knowledge
    b = book.update(
        ClusterKnowledge(namespace="n", cluster_id=2),
        [log(3, "u3", "Cite the article of the law."), log(2, "u2", "Please cite the statute article.")],
        now=2.0,
    ).knowledge
    folded = book.fold(a, b)
    (rule,) = folded.rules
    assert rule.support == 3  # e2 was in both: it counts once
    assert set(rule.user_support) == {"u1", "u2", "u3"} and folded.users["u2"].logs == 2
    assert a.rules[0].support == 2  # the inputs are untouched


def test_merges_and_retirements_leave_the_ingest_side_as_requests_keyed_by_the_cluster(embedder):
    settings = Settings(ward_scale=0.6, refresh_min_logs=100, cluster_idle_ttl_s=10.0)
    clock = [1000.0]
    ingest = Ingest(settings, embedder, {}, clock=lambda: clock[0])
    texts = [
        "Is a verbal contract binding?",
        "How long should I boil an egg?",
        "Can my landlord evict me?",
        "Is an oral agreement legally binding?",
        "What is the penalty for theft?",
    ]
    requests = []
    for i, query in enumerate(texts):
        event = decode_interaction(
            json.dumps(
                {
                    "event_id": f"e{i}",
                    "namespace": "n",
                    "timestamp": 1000.0,
                    "query": query,
                    "response": "",
                    "feedback": [{"kind": "thumbs", "value": -1}],
                }
            )
        )
        with ingest.txn("n"):
            ingest.interaction(event, Provenance("t", 0, i, i))
            requests += ingest.take_outbox()
    merged = [(k, r) for k, r in requests if r.reason == "merged"]
    assert merged, "close queries with a rising threshold merge"
    for k, r in merged:
        assert k == f"n/{r.cluster_id}" and r.into is not None and r.snapshot.cluster_id == r.into and not r.logs
    clock[0] += 60.0  # everything idle past the TTL
    with ingest.txn("n"):
        ingest.tick("n")
        retired = ingest.take_outbox()
    assert retired and {r.reason for _, r in retired} == {"retired"}
    assert ingest.namespaces.get("n").active == []


def test_a_withdrawn_module_is_no_longer_served_but_keeps_its_history(embedder, tmp_path):
    store = ModuleStore(embedder.id, embedder.dim, path=str(tmp_path / "qdrant"))
    module = ExperienceModule(
        namespace="n",
        cluster_id=3,
        version=1,
        kind=ModuleKind.PRIMARY,
        gap_score=0.1,
        guidance="- Cite the statute article.",
        embedder_id=embedder.id,
        created_at=0,
    )
    centroid = embedder.embed(["Is a verbal contract binding?"])[0].tolist()
    store.publish(ModulePublished(module=module, centroid=centroid, published_at=0))
    assert store.search("n", np.asarray(centroid))
    assert store.withdraw("n", 3) and not store.withdraw("n", 3)  # idempotent
    assert store.search("n", np.asarray(centroid)) == [] and store.get("n", 3) is None
    assert [m.version for m in store.history("n", 3)] == [1]
    store.close()


def test_a_module_whose_rules_stop_passing_is_withdrawn_and_returns_as_a_later_version(embedder, tmp_path):
    """Before: a refresh that found no publishable rule left the last module served, with a rule the
    users now contradict."""
    store = ModuleStore(embedder.id, embedder.dim, path=str(tmp_path / "qdrant"))
    refresh = ClusterRefresh(None, embedder, store, themes=ThemeBook.from_settings(embedder, Settings()))
    centroid = embedder.embed(["Is a verbal contract binding?"])[0].tolist()
    snapshot = ClusterSnapshot(
        namespace="n", cluster_id=4, embedder_id=embedder.id, centroid=centroid, query_centroid=centroid
    )
    knowledge = ClusterKnowledge(namespace="n", cluster_id=4)

    def run(i: int, items: list[tuple[str, str]]):
        logs = [log(i + j, user, text) for j, (user, text) in enumerate(items)]
        thumbs = [Feedback(kind=FeedbackKind.THUMBS, value=1)]
        logs += [  # each user's plain signal: users with other feedback in the cluster count as independent
            msgspec.structs.replace(log(100 + i + j, user, "-"), feedback=thumbs) for j, (user, _) in enumerate(items)
        ]
        return refresh.run(knowledge, snapshot, logs, now=float(i))

    asking = [("u1", "Please cite the statute article."), ("u2", "Cite the specific statute article.")]
    first = run(0, [*asking, ("u3", "Which article of the law is this? Cite it.")])
    assert first.outcome == "published" and store.get("n", 4).version == 1
    knowledge = first.knowledge
    second = run(10, [("u4", "Don't cite the statute article."), ("u5", "不要引用法条")])
    assert second.outcome == "withdrawn" and second.record is None
    assert store.get("n", 4) is None and store.search("n", np.asarray(centroid)) == []
    assert second.knowledge.module_digest == "" and second.knowledge.module_version == 1
    knowledge = second.knowledge
    still = run(20, [("u6", "Don't cite the statute article, please.")])  # three against three: contradicted
    assert still.outcome == "no_publishable_rules"  # nothing to withdraw
    third = run(30, [(f"u{i}", "Cite the statute article, please.") for i in range(7, 12)])
    assert third.outcome == "published" and store.get("n", 4).version == 2
    store.close()


def test_a_module_is_published_again_when_its_cluster_grows_although_its_rules_do_not_change(embedder, tmp_path):
    """Before: "unchanged" read the rules only, so a module first published while its cluster had too few
    members for a threshold of its own kept routing by the global one (a query of the grown cluster was
    out of range), and kept its first centre."""
    store = ModuleStore(embedder.id, embedder.dim, path=str(tmp_path / "qdrant"))
    refresh = ClusterRefresh(None, embedder, store, themes=ThemeBook.from_settings(embedder, Settings()))
    centroid = embedder.embed(["Is a verbal contract binding?"])[0].tolist()
    young = ClusterSnapshot(
        namespace="n", cluster_id=5, embedder_id=embedder.id, centroid=centroid, query_centroid=centroid, logs=3
    )
    grown = msgspec.structs.replace(young, logs=12, sim_n=12, sim_sum=7.2, sim_sq=4.5)
    items = [("u1", "Cite the statute article."), ("u2", "Cite the specific statute article."), ("u3", "Cite it.")]
    logs = [log(j, user, text) for j, (user, text) in enumerate(items)]
    logs += [
        msgspec.structs.replace(log(100 + j, user, "-"), feedback=[Feedback(kind=FeedbackKind.THUMBS, value=1)])
        for j, (user, _) in enumerate(items)
    ]
    first = refresh.run(ClusterKnowledge(namespace="n", cluster_id=5), young, logs, now=1.0)
    assert first.outcome == "published" and first.record.module.route_threshold is None
    assert refresh.run(first.knowledge, young, [], now=2.0).outcome == "unchanged"
    second = refresh.run(first.knowledge, grown, [], now=3.0)
    assert second.outcome == "published" and store.get("n", 5).version == 2
    assert second.record.module.route_threshold is not None
    assert [r.text for r in second.record.module.rules] == [r.text for r in first.record.module.rules]
    assert refresh.run(second.knowledge, grown, [], now=4.0).outcome == "unchanged"
    store.close()


def test_a_module_that_carries_another_rule_id_under_the_same_text_is_not_unchanged():
    """When two themes merge, the survivor's text may be the one the absorbed theme had: the module must
    carry the survivor's id, so the digest that decides "unchanged" reads ids too."""
    same_text = [Rule(id="t1", text="Cite the statute article.")], [Rule(id="t2", text="Cite the statute article.")]
    assert module_digest(ModuleKind.PRIMARY, same_text[0]) != module_digest(ModuleKind.PRIMARY, same_text[1])


def test_noise_filter_defaults_are_the_settings_defaults():
    s, f = Settings(), NoiseFilter()
    assert (
        f.min_support,
        f.min_users,
        f.max_user_share,
        f.max_against_share,
        f.min_reliable_users,
        f.independent_quorum,
    ) == (s.min_support, s.min_users, s.max_user_share, s.max_against_share, s.min_reliable_users, s.independent_quorum)
