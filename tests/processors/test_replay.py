"""`BatchReplay` over another table: what ``bench.memory --in-process`` runs on RocksDB must be the
worker's state, key for key, or its memory figures would describe something else."""

from __future__ import annotations

import json

import msgspec

from bench.memory import RocksTable
from processors.embedders.hashing import HashingEmbedder
from processors.refresh import ClusterRefresh
from processors.replay import BatchReplay
from processors.store import ModuleStore
from streams.worker.app import rocksdb_options
from streams.worker.rocks import SharedOptions
from tests.streams.sample import interactions
from uno_models import FeedbackEvent, Settings, decode_interaction


def _replay(table=None) -> BatchReplay:
    settings, embedder = Settings(refresh_min_logs=3), HashingEmbedder(64)
    replay = BatchReplay(
        settings, embedder, ClusterRefresh(None, embedder, ModuleStore(embedder.id, embedder.dim)), table=table
    )
    for event in interactions("legal", n_legal=8, n_cooking=4):
        replay.interaction(decode_interaction(json.dumps(event)))
    replay.flush()
    return replay


def test_a_replay_on_a_rocksdb_table_keeps_the_same_state_as_on_a_dict(tmp_path):
    db = SharedOptions(**rocksdb_options(Settings(store="rocksdb")), use_rocksdict=True).open(tmp_path / "tables")
    table = RocksTable(db)
    on_disk, in_memory = _replay(table), _replay()
    state = dict(in_memory.ingest.state.table)
    assert len(state) > 20 and dict(table.items()) == state  # every key, every value
    assert len(table) == len(state) and all(k in table for k in state) and "nothing" not in table
    assert on_disk.outcomes == in_memory.outcomes and on_disk.knowledge == in_memory.knowledge
    db.close()


def test_praise_that_arrives_after_its_thumbs_up_is_still_made_beside_it():
    """A user rates the answer (a thumbs up), the log is refreshed, then a comment arrives as a feedback event
    of its own: the late log carries only the comment, yet it was made beside the thumbs up. Its theme counts
    it as approving the answer (`approved_share`), as when both come in one event."""
    settings, embedder = Settings(refresh_min_logs=2), HashingEmbedder(64)
    replay = BatchReplay(settings, embedder, ClusterRefresh(None, embedder, ModuleStore(embedder.id, embedder.dim)))
    question = "Can my landlord evict me without notice?"
    for i in range(6):
        event = {"event_id": f"p{i}", "timestamp": 1.7e9 + i, "user_id": f"u{i}", "query": question}
        replay.interaction(decode_interaction(json.dumps(event | {"feedback": [{"kind": "thumbs", "value": 1}]})))
    replay.flush()
    for i in range(6):
        late = {"event_id": f"p{i}", "kind": "text", "text": "Chef's kiss.", "user_id": f"u{i}"}
        replay.feedback(msgspec.json.decode(json.dumps(late), type=FeedbackEvent))
    replay.flush()
    (knowledge,) = replay.knowledge.values()
    (rule,) = knowledge.rules
    assert rule.support == 6 and rule.approved_share == 1.0


def test_a_thumbs_up_after_the_comment_makes_it_approving_and_a_thumbs_down_after_that_undoes_it():
    """The other order: the comments come first and are refreshed, the thumbs up arrives as a feedback event of
    its own; the theme then counts them as made beside it. A thumbs down after that turns them back."""
    settings, embedder = Settings(refresh_min_logs=2), HashingEmbedder(64)
    replay = BatchReplay(settings, embedder, ClusterRefresh(None, embedder, ModuleStore(embedder.id, embedder.dim)))
    question = "Can my landlord evict me without notice?"
    for i in range(6):
        event = {"event_id": f"p{i}", "timestamp": 1.7e9 + i, "user_id": f"u{i}", "query": question}
        replay.interaction(
            decode_interaction(json.dumps(event | {"feedback": [{"kind": "text", "text": "Chef's kiss."}]}))
        )
    replay.flush()

    def share() -> float:
        (knowledge,) = replay.knowledge.values()
        (rule,) = knowledge.rules
        assert rule.support == 6
        return rule.approved_share

    assert share() == 0.0
    for value, approved in ((1, 1.0), (-1, 0.0)):
        for i in range(6):
            late = {
                "event_id": f"p{i}",
                "kind": "thumbs",
                "value": value,
                "user_id": f"u{i}",
                "feedback_id": f"f{value}{i}",
            }
            replay.feedback(msgspec.json.decode(json.dumps(late), type=FeedbackEvent))
        replay.flush()
        assert share() == approved
