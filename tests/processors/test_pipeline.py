"""themes -> filter -> rephrase -> gap -> build -> publish -> retrieve on the real parts: the local LLM server,
the USE-m3 embedder and Qdrant local mode. Assertions are about structure and accounting, not wisdom
(a 135M model writes weak rules)."""

from __future__ import annotations

import msgspec
import pytest

from processors.clustering import OnlineClusterer
from processors.embedders.usem3 import USEm3Embedder
from processors.llm import ChatLLM
from processors.noise import NoiseFilter
from processors.refresh import ClusterRefresh
from processors.retrieve import Retriever
from processors.store import ModuleStore
from streams.devstack.launcher import LLM_ALIAS, free_port
from uno_models import ClusterKnowledge, Feedback, FeedbackKind, LogRecord, ModuleKind, PairSource, Provenance

pytestmark = pytest.mark.infra

QUERIES = [
    "What is the penalty for theft under the criminal law?",
    "Can my landlord evict me without notice? Reply to jane.doe@example.com",
    "Is a verbal contract legally binding?",
    "What are my rights if I am arrested?",
]
FEEDBACK = [
    ("text", "Please cite the specific statute article that applies."),
    ("correction", "Under Article 264 of the Criminal Law, theft is punishable by up to 3 years."),
    ("text", "You should cite the law article number."),
    ("text", "The verdict comes too late, it should come first."),  # not an instruction yet: it is rephrased
]


@pytest.fixture(scope="module")
def embedder():
    return USEm3Embedder()


def legal_logs(embedder):
    clusterer = OnlineClusterer(namespace="legal", embedder_id=embedder.id, join_floor=1.5)
    logs = []
    for i, (query, vector) in enumerate(zip(QUERIES, embedder.embed(QUERIES), strict=True)):
        clusterer.learn_vector(vector, timestamp=float(i), feedback=True)
        kind, text = FEEDBACK[i]
        logs.append(
            LogRecord(
                event_id=f"e{i}",
                namespace="legal",
                timestamp=float(i),
                user_id=f"u{i % 3}",
                query=query,
                response="It depends on the situation.",
                feedback=[Feedback(kind=FeedbackKind(kind), text=text)],
                provenance=Provenance("uno.interactions", 0, i, i),
            )
        )
    assert len(clusterer.active_ids) == 1, "the four legal queries form one cluster"
    return clusterer.snapshot(clusterer.active_ids[0]), logs


def test_feedback_logs_become_a_module_that_serves_its_queries_and_only_them(llm_base_url, embedder, tmp_path):
    llm = ChatLLM(llm_base_url, LLM_ALIAS)
    store = ModuleStore(embedder.id, embedder.dim, path=str(tmp_path / "qdrant"))
    # A lenient filter: the filter's thresholds are unit-tested; here one tiny batch must publish.
    noise = NoiseFilter(min_support=1, min_users=1, max_user_share=1.0, min_reliable_users=0, independent_quorum=1)
    refresh = ClusterRefresh(llm, embedder, store, noise=noise)
    snapshot, logs = legal_logs(embedder)
    knowledge = ClusterKnowledge(namespace="legal", cluster_id=snapshot.cluster_id)

    result = refresh.run(knowledge, snapshot, logs, now=100.0)

    assert result.outcome == "published", result
    module = result.record.module
    assert (module.namespace, module.cluster_id, module.version) == ("legal", snapshot.cluster_id, 1)
    expected_kind = ModuleKind.REFLECTIVE if result.knowledge.gap_score >= 0.45 else ModuleKind.PRIMARY
    assert module.kind is expected_kind
    assert module.guidance if module.kind is ModuleKind.PRIMARY else module.checklist
    assert all(r.support >= 1 and r.provenance for r in module.rules)
    assert result.knowledge.priors and result.knowledge.module_version == 1
    assert any(p.source is PairSource.CORRECTION and p.chosen.startswith("Under Article 264") for p in result.pairs)
    everything = msgspec.json.encode([result.knowledge, result.record, result.pairs]).decode()
    assert "jane.doe@example.com" not in everything  # redacted before any prompt, rule or pair
    assert any("[EMAIL]" in p.prompt for p in result.pairs if p.event_id == "e1")
    assert result.llm_calls >= 2 and {"prior", "rephrase"} <= set(llm.ledger.summary())
    said = {fb.text for log in logs for fb in log.feedback}  # every rule is a user's words or a faithful wording
    assert all(r.text in said or r.evidence for r in module.rules)
    assert llm.ledger.requests() >= result.llm_calls  # retries are requests too

    retriever = Retriever(embedder, store, min_similarity=0.35)
    hit = retriever.retrieve("legal", "Is shoplifting a crime punishable by prison?")
    assert hit.reason == "hit" and hit.module.version == 1
    off = retriever.retrieve("legal", "Write a haiku about autumn leaves")
    assert off.module is None and off.reason == "out_of_range"
    assert retriever.retrieve("other-team", QUERIES[1]).reason == "no_modules"

    again = refresh.run(result.knowledge, snapshot, [], now=200.0)  # nothing new: no new version
    assert (
        again.outcome in ("unchanged", "no_publishable_rules") and store.get("legal", snapshot.cluster_id).version == 1
    )
    store.close()


def offline(embedder, tmp_path):
    """An LLM that is not there (connection refused), a store, the legal cluster, its knowledge, a
    filter that lets one user's rule through."""
    llm = ChatLLM(f"http://127.0.0.1:{free_port()}/v1", LLM_ALIAS, max_retries=1, backoff_s=0.01, timeout_s=2)
    store = ModuleStore(embedder.id, embedder.dim, path=str(tmp_path / "qdrant"))
    snapshot, logs = legal_logs(embedder)
    knowledge = ClusterKnowledge(namespace="legal", cluster_id=snapshot.cluster_id)
    noise = NoiseFilter(min_support=1, min_users=1, max_user_share=1.0, min_reliable_users=0, independent_quorum=1)
    return llm, store, snapshot, logs, knowledge, noise


def test_an_llm_outage_degrades_to_the_extractive_path_without_touching_the_callers_state(embedder, tmp_path):
    llm, store, snapshot, logs, knowledge, noise = offline(embedder, tmp_path)
    before = msgspec.json.encode(knowledge)
    result = ClusterRefresh(llm, embedder, store, noise=noise).run(knowledge, snapshot, logs, now=1.0)
    assert msgspec.json.encode(knowledge) == before  # the caller's state is never mutated
    assert result.skipped["prior"] == 1 and result.knowledge.prior_centroid == []  # asked again next time
    assert result.outcome == "published" and store.count() == 1  # the users' words need no LLM
    assert llm.ledger.calls[("prior", "transport")] == 1
    store.close()


def test_a_preview_is_the_module_of_the_users_words_and_changes_nothing(embedder, tmp_path):
    """What a cluster with no module serves while its first refresh waits for the LLM (an LLM that is
    not even there: the preview never calls it)."""
    llm, store, snapshot, logs, knowledge, noise = offline(embedder, tmp_path)
    before = msgspec.json.encode(knowledge)
    refresh = ClusterRefresh(llm, embedder, store, noise=noise)
    preview = refresh.preview(knowledge, snapshot, logs, now=1.0, batch_id="b1")
    assert msgspec.json.encode(knowledge) == before and store.count() == 0 and not llm.ledger.calls
    assert preview is not None and preview.module.version == 1 and preview.batch_id == "b1"
    full = refresh.run(knowledge, snapshot, logs, now=1.0)  # the same logs, the same rules (no LLM answered)
    assert [r.text for r in preview.module.rules] == [r.text for r in full.record.module.rules]
    strict = ClusterRefresh(llm, embedder, store, noise=NoiseFilter(min_support=99))
    assert strict.preview(knowledge, snapshot, logs, now=1.0) is None  # nothing passes the filters
    store.close()


def test_a_refresh_asked_to_yield_makes_no_llm_call_and_leaves_the_steps_to_the_next(embedder, tmp_path):
    llm, store, snapshot, logs, knowledge, noise = offline(embedder, tmp_path)
    refresh = ClusterRefresh(llm, embedder, store, noise=noise)
    yielded = refresh.run(knowledge, snapshot, logs, now=1.0, yield_llm=lambda: True)
    assert not llm.ledger.calls and yielded.skipped["deferred"] == 1 and yielded.outcome == "published"
    assert not any(t.rephrase_tried for t in yielded.knowledge.themes)  # to be tried, not given up
    assert yielded.knowledge.prior_centroid == []  # the prior too (novelty is judged again once it comes)
    later = refresh.run(yielded.knowledge, snapshot, [], now=2.0)  # nobody waiting: the steps are taken up
    assert llm.ledger.calls[("rephrase", "transport")] >= 1 and llm.ledger.calls[("prior", "transport")] == 1
    assert later.skipped["deferred"] == 0
    store.close()
