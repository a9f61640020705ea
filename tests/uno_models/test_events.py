from __future__ import annotations

import msgspec
import pytest

from uno_models import (
    ContractError,
    ExperienceModule,
    Feedback,
    FeedbackEvent,
    FeedbackKind,
    InteractionEvent,
    Message,
    ModuleKind,
    ModulePublished,
    PairSource,
    PreferencePair,
    Provenance,
    Rule,
    decode,
    decode_feedback,
    decode_interaction,
    encode,
    satisfaction,
    signal_of,
)
from uno_models.limits import MAX_FEEDBACK_ITEMS, MAX_TEXT


def event(**fields) -> dict:
    base = {"event_id": "e-1", "timestamp": 1_700_000_000.0, "query": "What is 2+2?", "response": "5"}
    base.update(fields)
    return base


def reject(payload, decoder=decode_interaction) -> ContractError:
    data = payload if isinstance(payload, bytes) else msgspec.json.encode(payload)
    with pytest.raises(ContractError) as info:
        decoder(data)
    return info.value


def test_interaction_round_trips_with_every_feedback_kind():
    ev = InteractionEvent(
        event_id="e-1",
        timestamp=1.0,
        namespace="legal",
        user_id="u1",
        messages=[Message("system", "be brief"), Message("user", "What is tort law?")],
        response="It is ...",
        feedback=[
            Feedback(kind=FeedbackKind.RATING, value=2, scale=5),
            Feedback(kind=FeedbackKind.THUMBS, value=-1),
            Feedback(kind=FeedbackKind.TEXT, text="cite the statute"),
            Feedback(kind=FeedbackKind.CORRECTION, text="Tort law is ... (Art. 1165)"),
            Feedback(kind=FeedbackKind.EDIT, text="It is ..., see Art. 1165"),
            Feedback(kind=FeedbackKind.REGENERATE),
            Feedback(kind=FeedbackKind.COPY),
            Feedback(kind=FeedbackKind.ABANDON),
        ],
        metadata={"app": "chat"},
    )
    assert decode_interaction(encode(ev)) == ev
    assert ev.user_query == "What is tort law?"


def test_feedback_event_round_trips_and_converts_to_inline_feedback():
    fe = FeedbackEvent(event_id="e-1", kind=FeedbackKind.THUMBS, value=1, user_id="u2", feedback_id="f-1")
    assert decode_feedback(encode(fe)) == fe
    assert fe.to_feedback() == Feedback(kind=FeedbackKind.THUMBS, value=1, user_id="u2")


def test_knowledge_and_module_structs_round_trip():
    prov = [Provenance("uno.interactions", 0, 10, 20)]
    rule = Rule(id="r1", text="Cite the statute article.", support=3, user_support={"u1": 2, "u2": 1}, provenance=prov)
    module = ExperienceModule(
        namespace="legal",
        cluster_id=3,
        version=2,
        kind=ModuleKind.PRIMARY,
        rules=[rule],
        guidance="- Cite the statute article.",
        gap_score=0.2,
        embedder_id="usem3-512",
        created_at=5.0,
        provenance=prov,
    )
    record = ModulePublished(module=module, centroid=[0.1, 0.2], published_at=6.0)
    assert decode(encode(record), ModulePublished) == record
    pair = PreferencePair(
        id="p1",
        namespace="legal",
        cluster_id=3,
        prompt="q",
        chosen="a",
        rejected="b",
        source=PairSource.CORRECTION,
        event_id="e-1",
        created_at=1.0,
    )
    assert decode(encode(pair), PreferencePair) == pair
    assert rule.distinct_users == 2 and rule.top_user_share == pytest.approx(2 / 3)
    assert module.key == "legal/3"


@pytest.mark.parametrize(
    ("payload", "path", "words"),
    [
        (event(query=7), "$.query", "Expected `str | null`"),
        (event(timestamp=-1), "$.timestamp", ">= 0"),
        (event(event_id="has space"), "$.event_id", "regex"),
        (event(namespace="a/b"), "$.namespace", "regex"),
        (event(feedback=[{"kind": "smile"}]), "$.feedback[0].kind", "Invalid enum value 'smile'"),
        (event(feedback=[{"kind": "rating", "value": 9, "scale": 5}]), "$.feedback[0]", "outside [1, 5]"),
        (event(feedback=[{"kind": "rating", "value": 3}]), "$.feedback[0]", "needs `value` and `scale`"),
        (event(feedback=[{"kind": "thumbs", "value": 0}]), "$.feedback[0]", "1 (up) or -1 (down)"),
        (event(feedback=[{"kind": "correction"}]), "$.feedback[0]", "non-empty `text`"),
        (event(feedback=[{"kind": "copy"}] * (MAX_FEEDBACK_ITEMS + 1)), "$.feedback", "length <= 64"),
        (event(response="x" * (MAX_TEXT + 1)), "$.response", f"length <= {MAX_TEXT}"),
        (event(metadata={"k": 1}), "$.metadata[...]", "Expected `str`"),
        (event(messages=[{"role": "robot", "content": "hi"}]), "$.messages[0].role", "Invalid enum value"),
        (event(query=None), "$", "non-empty `query`"),
        (event(schema_version=99), "$", "`schema_version` 99 is newer"),
        ({"timestamp": 1, "query": "q"}, "$", "missing required field `event_id`"),
        (b'{"event_id": "e-1", ', "$", "truncated"),
        (b"\xff\xfe\x00", "$", "malformed"),
        (b"[1, 2]", "$", "Expected `object`, got `array`"),
    ],
)
def test_bad_events_are_rejected_naming_the_field_and_reason(payload, path, words):
    error = reject(payload)
    assert error.path == path
    assert words in error.reason


def test_feedback_event_errors_name_the_field():
    assert reject({"event_id": "e-1", "kind": "thumbs"}, decode_feedback).reason.startswith("thumbs `value`")
    assert reject({"kind": "copy"}, decode_feedback).reason == "Object missing required field `event_id`"


def test_older_producers_without_schema_version_and_unknown_fields_still_decode():
    ev = decode_interaction(b'{"event_id": "e", "timestamp": 1, "query": "q", "future_field": {"x": 1}}')
    assert ev.schema_version == 1


def test_signal_maps_every_kind_to_polarity_in_range():
    cases = [
        (Feedback(kind=FeedbackKind.RATING, value=1, scale=5), -1.0),
        (Feedback(kind=FeedbackKind.RATING, value=3, scale=5), 0.0),
        (Feedback(kind=FeedbackKind.RATING, value=10, scale=10, scale_min=0), 1.0),
        (Feedback(kind=FeedbackKind.THUMBS, value=1), 1.0),
        (Feedback(kind=FeedbackKind.THUMBS, value=-1), -1.0),
        (Feedback(kind=FeedbackKind.CORRECTION, text="x"), -1.0),
    ]
    for fb, polarity in cases:
        assert signal_of(fb).polarity == pytest.approx(polarity)
    valid_value = {FeedbackKind.RATING: 3, FeedbackKind.THUMBS: 1}
    for kind in FeedbackKind:
        fb = Feedback(
            kind=kind, value=valid_value.get(kind), scale=5 if kind is FeedbackKind.RATING else None, text="t"
        )
        s = signal_of(fb)
        assert -1.0 <= s.polarity <= 1.0 and 0.0 < s.weight <= 1.0


def test_satisfaction_ignores_unread_text_and_weights_implicit_signals():
    assert satisfaction([]) is None
    assert satisfaction([Feedback(kind=FeedbackKind.TEXT, text="meh")]) is None
    assert satisfaction([Feedback(kind=FeedbackKind.THUMBS, value=1)]) == 1.0
    mixed = satisfaction([Feedback(kind=FeedbackKind.THUMBS, value=-1), Feedback(kind=FeedbackKind.COPY)])
    assert 0.0 < mixed < 0.5


def test_knowledge_stored_before_a_field_was_dropped_still_decodes():
    """A worker upgraded over its table reads the records it wrote before: ``Rule.recent_logs`` (the event ids
    behind a rule, a copy of its theme's votes) is no longer stored, and records that carry it decode."""
    import msgspec

    from uno_models.knowledge import RuleStatus
    from uno_models.stream import KnowledgeRecord

    old = {
        "knowledge": {
            "namespace": "ns",
            "cluster_id": 3,
            "rules": [{"id": "t1", "text": "Cite the article.", "support": 2, "recent_logs": ["e1", "e2"]}],
        },
        "applied_batches": ["b1"],
    }
    record = msgspec.msgpack.decode(msgspec.msgpack.encode(old), type=KnowledgeRecord)
    rule = record.knowledge.rules[0]
    assert (rule.text, rule.support, rule.status) == ("Cite the article.", 2, RuleStatus.CANDIDATE)
    assert "recent_logs" not in msgspec.to_builtins(rule)
