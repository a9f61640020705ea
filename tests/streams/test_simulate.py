"""The simulator: deterministic, labelled simulated, valid under the contract, with its ground truth."""

from __future__ import annotations

import json
import random
from collections import Counter
from pathlib import Path

import pytest

import processors
from processors.evidence import is_cjk, reads_as_imperative
from streams.evaluation import DEMO_SAMPLE
from streams.evaluation.evaluate import phrasing_key, preference_of, preference_of_phrasing
from streams.evaluation.simulate import (
    ADVERSARIAL_RULE,
    COURTESY,
    COURTESY_TEST,
    LANGUAGE_POOLS,
    OFF_TOPIC,
    POOL,
    SPLITS,
    VERBOSE_CONTEXT,
    Truth,
    _feedback,
    _Language,
    _negated,
    simulate,
    typed_casually,
    write,
)
from uno_models import InteractionEvent, decode

QUERIES = {t: [f"{t} question number {i}?" for i in range(30)] for t in ("law", "travel", "stories", "poems")}


def test_the_stream_is_deterministic_valid_and_carries_its_ground_truth(tmp_path):
    kwargs = {"topics": ["law", "travel", "stories"], "per_topic": 20, "adversarial_events": 10, "seed": 3}
    events, truth = simulate(QUERIES, **kwargs)
    again, _ = simulate(QUERIES, **kwargs)
    assert events == again and len(events) == 3 * 20 + 10 + 3 * 2 == truth.events  # + the sybil ring's
    for e in events:
        decode(json.dumps(e), InteractionEvent)  # every event satisfies the contract
        assert e["metadata"]["simulated"] == "true" and e["user_id"].startswith("sim-")
    assert [t.topic for t in truth.topics] == ["law", "travel", "stories"]
    prefs = [p for t in truth.topics for p in t.preferences]
    assert len(prefs) == len(set(prefs)) == 6  # two preferences of its own per topic
    assert set(prefs) <= {p for p, _ in SPLITS["dev"]} and truth.pool == "dev"
    users = Counter(e["user_id"] for e in events)
    assert users[truth.adversarial_user] == 10 and truth.adversarial_rule == ADVERSARIAL_RULE
    assert truth.noisy_users and set(truth.noisy_users) < set(users)
    assert len(truth.noisy_users) <= 3 * 3  # 30% of the 10 users of each topic, noisy for the whole stream
    ring = [e for e in events if e["user_id"] in truth.sybil_users]
    assert len(truth.sybil_users) == 3 and len(ring) == 6 and truth.sybil_rule
    positions = [i for i, e in enumerate(events) if e["user_id"] in truth.sybil_users]
    assert positions == list(range(positions[0], positions[0] + 6))  # fresh ids that arrive together
    held = {q for t in truth.topics for q in t.held_out_queries}
    assert held and not held & {e["query"] for e in events}  # held-out queries never appear in the stream
    assert set(truth.labels) == {e["event_id"] for e in events}
    labels = Counter(truth.labels.values())
    assert labels["law"] == 30 and labels["travel"] == 20 and labels["stories"] == 26  # adversary and ring
    assert truth.out_of_range_queries[0] == truth.out_of_range_query
    assert set(truth.out_of_range_queries[1:]) <= set(QUERIES["poems"])  # the topic left out of the stream
    path = write(events, truth, tmp_path / "s.jsonl")
    assert decode(path.read_bytes(), Truth).simulated is True


def test_a_spread_ring_posts_apart_in_the_second_half():
    kwargs = {"topics": ["law", "travel", "stories"], "per_topic": 20, "seed": 3, "sybil_users": 3}
    events, truth = simulate(QUERIES, sybil_spread=True, **kwargs)
    together, _ = simulate(QUERIES, **kwargs)
    positions = [i for i, e in enumerate(events) if e["user_id"] in truth.sybil_users]
    assert len(positions) == 6 and len(events) == len(together)
    assert positions != list(range(positions[0], positions[0] + 6))  # not one run of the ring's logs
    assert min(positions) >= (len(events) - 6) // 2 - 6  # the second half of the stream


def test_noisy_users_write_chatter_and_contradictions_reliable_ones_say_what_they_want():
    events, truth = simulate(QUERIES, topics=["law", "travel"], per_topic=28, seed=1)
    noisy = set(truth.noisy_users)
    texts = [(e["user_id"], f.get("text", "")) for e in events for f in e["feedback"] if f["kind"] == "text"]
    assert any(t in OFF_TOPIC for u, t in texts if u in noisy)
    assert any(t.startswith(("Don't", "不要")) for u, t in texts if u in noisy)
    # a contradiction negates a plain request, never one that is a negation already ("Don't no lists")
    prose = [p for p in POOL if "No lists, just prose." in p[1]]
    said = {_feedback(random.Random(seed), prose, True, 0.0)[0].get("text") for seed in range(300)}
    assert "Don't write in paragraphs, not bullets" in said and not any(t and "no lists" in t.lower() for t in said)
    # and only a plain instruction: not "Don't an example would help, add one", "不要语气太随意了,请正式一点"
    contradictions = [t for u, t in texts if u in noisy and t.startswith(("Don't", "不要"))]
    assert all(reads_as_imperative(t.removeprefix("Don't ").removeprefix("不要")) for t in contradictions)
    for preference in POOL:
        said = {_feedback(random.Random(seed), [preference], True, 0.0)[0].get("text") for seed in range(200)}
        assert not any(t and t.startswith(("Don't an", "Don't way", "不要语气", "不要太")) for t in said)
    reliable = {u for u, _ in texts} - noisy - {truth.adversarial_user, *truth.sybil_users}
    phrasings = {p for _, ph in SPLITS["dev"] for p in ph}
    assert reliable and all(t in phrasings | {"thanks", "great, thanks", "谢谢"} for u, t in texts if u in reliable)


def test_the_pool_has_six_phrasings_a_third_chinese_and_two_disjoint_halves():
    for preference, phrasings in SPLITS["dev"] + SPLITS["test"]:
        chinese = [p for p in phrasings if any("\u4e00" <= ch <= "\u9fff" for ch in p)]
        assert len(phrasings) >= 6 and len(chinese) * 3 >= len(phrasings), preference
    assert not {p for p, _ in SPLITS["dev"]} & {p for p, _ in SPLITS["test"]}
    for path in Path(processors.__file__).parent.rglob("*"):  # no preference text is hard-wired in the core
        if path.suffix in (".py", ".txt"):
            text = path.read_text()
            assert not [p for p, _ in SPLITS["dev"] + SPLITS["test"] if p in text], path


@pytest.mark.parametrize("pool", sorted(LANGUAGE_POOLS))
def test_a_stream_in_another_language_speaks_it_throughout(pool):
    """Users of a Spanish or German stream write their requests, remarks, thanks and contradictions in it;
    the hidden preferences are stated in it too (bench.rules --pool)."""
    events, truth = simulate(QUERIES, topics=["law", "travel", "stories"], per_topic=28, pool=pool, seed=2)
    entries = LANGUAGE_POOLS[pool]
    assert {p for t in truth.topics for p in t.preferences} == {rule for rule, _, _ in entries}
    assert truth.pool == pool
    english = {"thanks", "great, thanks", "谢谢", "the site is slow"} | {p for _, ph in POOL for p in ph}
    ring = {truth.adversarial_user, *truth.sybil_users}
    said = [f["text"] for e in events if e["user_id"] not in ring for f in e["feedback"] if f["kind"] == "text"]
    assert said and not set(said) & english
    contradictions = {c for _, _, c in entries}
    assert set(said) & contradictions  # the noisy users' "No pongas ejemplos", "Nenne keine Risiken"
    with pytest.raises(ValueError, match="unknown preference pool"):
        simulate(QUERIES, topics=["law"], pool="xx")


def test_compound_and_verbose_requests_carry_what_they_say_and_default_to_none():
    """--compound: a request asks for both of its topic's preferences, in two sentences; --verbose: a request
    comes after a sentence of situation. At 0 (the default) no request does either."""
    rng, prefs = random.Random(5), SPLITS["test"][:2]
    phrasing = {t: rule for rule, texts in prefs for t in texts}
    texts = [f["text"] for _ in range(60) for f in _feedback(rng, prefs, False, 0.0, None, 1.0) if f["kind"] == "text"]
    assert texts and all(len({r for t, r in phrasing.items() if t.rstrip(".。") in x}) == 2 for x in texts)
    rng = random.Random(5)
    texts = [
        f["text"] for _ in range(60) for f in _feedback(rng, prefs, False, 0.0, None, 0.0, 1.0) if f["kind"] == "text"
    ]
    contexts = [c for before, _ in VERBOSE_CONTEXT.values() for c in before]
    assert texts and all(any(x.startswith(c) for c in contexts) for x in texts)
    rng = random.Random(5)
    plain = [f["text"] for _ in range(60) for f in _feedback(rng, prefs, False, 0.0) if f["kind"] == "text"]
    assert all(t in phrasing for t in plain)


def test_courtesy_gives_satisfied_users_praise_of_their_split_and_defaults_to_plain_thanks():
    """--courtesy: a satisfied user's feedback carries praise, the dev split's COURTESY or the test split's
    held-out COURTESY_TEST; at 0 (the default) thanks only, as before."""
    prefs = SPLITS["test"][:2]
    for pool, praise in (("dev", COURTESY), ("test", COURTESY_TEST)):
        rng, language = random.Random(3), _Language.of(pool)
        said = [
            f["text"]
            for _ in range(40)
            for f in _feedback(rng, prefs, False, 1.0, language, courtesy_share=1.0)
            if f["kind"] == "text"
        ]
        assert len(said) == 40 and set(said) <= set(praise)
    rng = random.Random(3)
    said = [
        f["text"] for _ in range(40) for f in _feedback(rng, prefs, False, 1.0, _Language.of("test")) if "text" in f
    ]
    assert said and set(said) <= {"thanks", "great, thanks", "谢谢"}


def test_approving_requests_come_with_a_thumbs_up_or_a_copy_and_default_to_none():
    """--approving: a reliable user's request comes beside a signal that approved the answer."""
    rng, prefs = random.Random(4), SPLITS["test"][:2]
    said = [_feedback(rng, prefs, False, 0.0, approving_share=1.0) for _ in range(40)]
    assert all(fb[0] in ({"kind": "thumbs", "value": 1}, {"kind": "copy"}) and fb[1]["kind"] == "text" for fb in said)
    rng = random.Random(4)
    said = [_feedback(rng, prefs, False, 0.0) for _ in range(40)]
    assert not any(f in ({"kind": "thumbs", "value": 1}, {"kind": "copy"}) for fb in said for f in fb)


def test_casual_users_type_as_in_a_chat_box_and_the_stream_is_otherwise_the_same():
    """--casual: a share of users types every text in lower case, with no closing full stop and chat spellings;
    the same seed gives the same stream otherwise, and the evaluation still knows each text's phrasing."""
    plain, _ = simulate(QUERIES, seed=2)
    casual, _ = simulate(QUERIES, seed=2, casual_share=0.5)
    assert [(e["user_id"], e["query"]) for e in plain] == [(e["user_id"], e["query"]) for e in casual]
    changed = [
        (a["text"], b["text"])
        for p, c in zip(plain, casual, strict=True)
        for a, b in zip(p["feedback"], c["feedback"], strict=True)
        if "text" in a and a["text"] != b["text"]
    ]
    assert changed and all(b == b.lower() or is_cjk(b) for _, b in changed)
    phrasing = preference_of_phrasing()
    known = [phrasing.get(phrasing_key(a)) for a, _ in changed]
    assert any(known) and known == [phrasing.get(phrasing_key(b)) for _, b in changed]
    rng = random.Random(0)
    assert typed_casually("Please state how confident you are.", rng).rstrip() in {
        f"{p} state how confident {y} are" for p in ("pls", "plz", "please") for y in ("u", "you")
    }
    assert typed_casually("请用表格对比。", random.Random(1)) in {"用表格对比", "请用表格对比"}


def test_too_few_queries_or_too_many_topics_is_a_clear_error():
    with pytest.raises(ValueError, match="distinct queries"):
        simulate({"law": ["a?", "b?"]}, per_topic=20)
    with pytest.raises(ValueError, match="at most 4 topics"):
        simulate({f"t{i}": [f"q{j}" for j in range(30)] for i in range(5)}, topics=[f"t{i}" for i in range(5)])


def test_the_bundled_demo_sample_is_labelled_simulated_and_valid():
    truth = decode(Path(DEMO_SAMPLE).with_suffix(".truth.json").read_bytes(), Truth)
    lines = DEMO_SAMPLE.read_text().splitlines()
    assert truth.simulated and len(lines) == truth.events
    assert all(decode(line, InteractionEvent).metadata["simulated"] == "true" for line in lines)


def test_a_phrasing_said_among_other_sentences_is_scored_as_that_phrasing():
    phrasing = preference_of_phrasing()
    rule, texts = POOL[0]
    plain = next(t for t in texts if reads_as_imperative(t))
    assert preference_of(plain, phrasing) == rule
    assert preference_of(f"{VERBOSE_CONTEXT['en'][0][0]} {plain} Thanks in advance!", phrasing) == rule
    assert preference_of(VERBOSE_CONTEXT["en"][0][0], phrasing) is None


def test_a_ring_with_a_history_gives_thumbs_up_before_its_first_request():
    queries = {f"t{i}": [f"question {i}-{j}?" for j in range(40)] for i in range(3)}
    events, truth = simulate(queries, per_topic=20, sybil_history=2, seed=1)
    ring = set(truth.sybil_users)
    first_request = min(i for i, e in enumerate(events) if e["user_id"] in ring and e["feedback"][0]["kind"] == "text")
    history = [i for i, e in enumerate(events) if e["user_id"] in ring and e["feedback"][0]["kind"] == "thumbs"]
    assert len(history) == 2 * len(ring) and max(history) < first_request


def test_a_ring_that_opposes_writes_against_one_of_its_topics_real_preferences():
    events, truth = simulate(QUERIES, per_topic=20, sybil_oppose=True, seed=2)
    ring_topic = truth.topics[-1]
    assert truth.sybil_opposes in ring_topic.preferences
    said = [f["text"] for e in events if e["user_id"] in truth.sybil_users for f in e["feedback"]]
    assert len(said) == 2 * len(truth.sybil_users)
    phrasings = next(texts for rule, texts in POOL if rule == truth.sybil_opposes)
    assert set(said) <= {_negated(p) for p in phrasings}  # negated phrasings of the opposed preference
    plain, plain_truth = simulate(QUERIES, per_topic=20, seed=2)  # the rest of the stream is the same
    assert [e["user_id"] for e in plain] == [e["user_id"] for e in events] and not plain_truth.sybil_opposes


def test_rounds_ask_each_query_of_the_stream_again_by_users_drawn_afresh():
    once, _ = simulate(QUERIES, per_topic=10, sybil_users=0, adversarial_events=0, seed=3)
    thrice, truth3 = simulate(QUERIES, per_topic=10, rounds=3, sybil_users=0, adversarial_events=0, seed=3)
    assert len(thrice) == 3 * len(once)
    asked = Counter(e["query"] for e in thrice)
    assert set(asked.values()) == {3} and len(asked) == len(once)  # each query of the stream three times
    assert not {q for t in truth3.topics for q in t.held_out_queries} & set(asked)
    assert len({e["user_id"] for e in thrice}) > len({e["user_id"] for e in once})
