"""The fixes to Faust's consumer: a skipped record is not acknowledged, and the stall guard's decision
(pure logic over a consumer shaped like Faust's). The real case, records Faust dropped around a
recovery and read again, is tests/faults/test_kills.py[10-late]."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest
from faust.types import TP
from faust.types.tuples import ConsumerMessage

from streams.worker import transport
from streams.worker.app import make_app
from streams.worker.metrics import Metrics
from streams.worker.transport import EMPTY_FETCH_FLOOR_S, UNFETCHED_CHECKS, StallGuard, paced
from uno_models import Settings

INTERACTIONS, TICKS, REFRESH = TP("interactions", 1), TP("ticks", 1), TP("refresh", 1)


class Consumer:
    """What the guard reads of `faust.transport.consumer.Consumer`, and its `seek`."""

    def __init__(self, committed: dict, ends: dict, unacked=(), acked=None):
        self._committed_offset = committed
        self.ends = ends
        self.unacked = [SimpleNamespace(tp=tp, offset=offset) for tp, offset in unacked]  # in flight
        self._acked = acked or {}  # handled, not yet committed
        self._acked_index = {tp: set(offsets) for tp, offsets in self._acked.items()}
        self.flow_active = True
        self.sought: list[tuple[TP, int]] = []

    def assignment(self):
        return set(self.ends)

    def highwater(self, tp):
        return self.ends[tp]

    async def seek(self, tp, offset):
        self.sought.append((tp, offset))

    async def earliest_offsets(self, *tps):
        return dict.fromkeys(tps, 0)  # nothing removed by retention


def checks(consumer: Consumer, n: int, **app) -> StallGuard:
    guard = StallGuard([{"interactions", "ticks"}, {"refresh"}], Metrics())
    app = SimpleNamespace(**({"consumer": consumer, "rebalancing": False, "in_recovery": False} | app))
    for _ in range(n):
        asyncio.run(guard.check(app))
    return guard


def test_records_left_unread_by_an_idle_agent_are_read_again_from_the_committed_offset_once():
    consumer = Consumer({INTERACTIONS: 44, TICKS: 169}, {INTERACTIONS: 60, TICKS: 169})
    checks(consumer, 1)
    assert consumer.sought == []  # one sighting is not a stall
    guard = checks(consumer, 4)
    assert consumer.sought == [(INTERACTIONS, 44)]  # not again while nothing changes (a trailing control record)
    assert guard.metrics.consumer_rewinds.labels("interactions")._value.get() == 1


def test_a_partition_never_committed_is_read_from_its_beginning():
    consumer = Consumer({}, {INTERACTIONS: 60})
    checks(consumer, 2)
    assert consumer.sought == [(INTERACTIONS, 0)]


def test_nothing_is_sought_while_the_agent_holds_records_or_the_partition_moves_or_the_group_rebalances():
    busy = Consumer({INTERACTIONS: 44}, {INTERACTIONS: 60}, unacked=[(TICKS, 9)])  # the same agent is working
    checks(busy, 3)
    handling = Consumer(
        {INTERACTIONS: 44}, {INTERACTIONS: 60}, unacked=[(INTERACTIONS, 44)], acked={INTERACTIONS: [45]}
    )
    checks(handling, 3)  # the record at the committed offset is in flight (waiting for the embedder, say)
    caught_up = Consumer({INTERACTIONS: 60, REFRESH: 3}, {INTERACTIONS: 60, REFRESH: 9}, unacked=[(REFRESH, 3)])
    checks(caught_up, 3)
    rebalancing = Consumer({INTERACTIONS: 44}, {INTERACTIONS: 60})
    checks(rebalancing, 3, rebalancing=True)
    broker_away = Consumer({INTERACTIONS: 44}, {INTERACTIONS: 60}, acked={INTERACTIONS: list(range(44, 60))})
    checks(broker_away, 3)  # everything handled, the commits failing: nothing to read again
    assert busy.sought == handling.sought == broker_away.sought == caught_up.sought == rebalancing.sought == []

    # another agent's work does not hold this one back
    other_busy = Consumer({INTERACTIONS: 44}, {INTERACTIONS: 60}, unacked=[(REFRESH, 3)])
    checks(other_busy, 2)
    assert other_busy.sought == [(INTERACTIONS, 44)]


def test_a_skipped_record_is_read_again_while_the_partition_keeps_flowing_past_it():
    """Later records handled, the commit held at the skipped one, the end moving, the agent busy."""
    consumer = Consumer({TICKS: 169}, {TICKS: 180}, unacked=[(TICKS, 179)], acked={TICKS: [170, 171]})
    guard = StallGuard([{"interactions", "ticks"}], Metrics())
    app = SimpleNamespace(consumer=consumer, rebalancing=False, in_recovery=False)
    for end in (180, 190, 200):
        consumer.ends[TICKS] = end
        asyncio.run(guard.check(app))
    assert consumer.sought == [(TICKS, 169)]


def test_a_partition_that_moves_between_checks_is_not_stalled():
    consumer = Consumer({INTERACTIONS: 44}, {INTERACTIONS: 60})
    guard = StallGuard([{"interactions"}], Metrics())
    app = SimpleNamespace(consumer=consumer, rebalancing=False, in_recovery=False)
    for committed in (44, 50, 56):
        consumer._committed_offset[INTERACTIONS] = committed
        asyncio.run(guard.check(app))
    assert consumer.sought == []


def test_a_record_no_agent_was_given_is_not_acknowledged_so_the_commit_stops_at_it():
    app = make_app(Settings(app_id="ack-test"), "127.0.0.1:9")  # builds the consumer; connects to nothing
    app.topics._acking_topics.add("interactions")  # as when an agent subscribes to it
    consumer = app.consumer

    def message(offset: int) -> ConsumerMessage:
        return ConsumerMessage("interactions", 1, offset, 0.0, 0, None, b"k", b"v", None, tp=INTERACTIONS)

    skipped, handled = message(7), message(8)
    handled.tracked = True  # what a stream does before it gives a record to its agent
    assert consumer.ack(skipped) is False
    assert consumer.ack(handled) is True
    assert list(consumer._acked[INTERACTIONS]) == [8]

    consumer._committed_offset[INTERACTIONS] = 7  # 7 is next: no commit past it (Faust's own check lets 8 by)
    assert consumer._new_offset(INTERACTIONS) is None
    seven = message(7)
    seven.tracked = True  # read again and handled
    assert consumer.ack(seven) is True
    assert consumer._new_offset(INTERACTIONS) == 9


def test_a_skipped_first_record_of_a_partition_never_committed_holds_the_commit_back():
    """Faust keeps a committed offset of 0 as None, and with None commits past records at the head that
    no agent was given: acked 1-3 of a partition rewound to 0 committed 4, and record 0 was lost (the
    rewind test of test_worker.py, ~1 run in 6 on a loaded machine: 3 duplicates of 4)."""
    app = make_app(Settings(app_id="ack-test"), "127.0.0.1:9")
    app.topics._acking_topics.add("interactions")
    consumer = app.consumer

    def handled(offset: int) -> None:
        message = ConsumerMessage("interactions", 1, offset, 0.0, 0, None, b"k", b"v", None, tp=INTERACTIONS)
        message.tracked = True
        consumer.ack(message)

    for offset in (1, 2, 3):
        handled(offset)
    consumer._committed_offset[INTERACTIONS] = None  # committed 0, as Faust keeps it
    consumer.start_offsets[INTERACTIONS] = 0  # where `ConsumerThread` sought it
    assert consumer._new_offset(INTERACTIONS) is None  # Faust's own rule: 4
    guarded = Consumer({INTERACTIONS: None}, {INTERACTIONS: 4}, acked={INTERACTIONS: [1, 2, 3]})
    checks(guarded, 2)
    assert guarded.sought == []  # where the partition starts unknown: nothing to go back to
    guarded.start_offsets = {INTERACTIONS: 0}
    checks(guarded, 2)
    assert guarded.sought == [(INTERACTIONS, 0)]  # read again from its start
    handled(0)
    assert consumer._new_offset(INTERACTIONS) == 4


def test_a_partition_whose_head_retention_removed_is_not_read_again_for_it():
    """Sought to 0, the log starting at 1000: aiokafka reads from 1000, and the commit may start there."""
    consumer = Consumer({INTERACTIONS: None}, {INTERACTIONS: 1010}, acked={INTERACTIONS: [1000, 1001]})
    consumer.start_offsets = {INTERACTIONS: 0}

    async def earliest_offsets(*tps):
        return dict.fromkeys(tps, 1000)

    consumer.earliest_offsets = earliest_offsets
    checks(consumer, 3)
    assert consumer.sought == [] and consumer.start_offsets == {INTERACTIONS: 1000}


def test_a_broker_that_cannot_say_where_the_log_starts_leaves_the_head_to_be_read_again():
    """The log's start unknown (the broker away): the guard does not move the commit's start on a
    guess; it reads the partition again from where it was sought (duplicates are recognised), and
    asks again at the next check."""
    consumer = Consumer({INTERACTIONS: None}, {INTERACTIONS: 1010}, acked={INTERACTIONS: [1000, 1001]})
    consumer.start_offsets = {INTERACTIONS: 0}

    async def earliest_offsets(*tps):
        raise ConnectionError("broker away")

    consumer.earliest_offsets = earliest_offsets
    checks(consumer, 2)
    assert consumer.sought == [(INTERACTIONS, 0)] and consumer.start_offsets == {INTERACTIONS: 0}


def test_records_gone_from_the_log_do_not_hold_the_commit_back():
    app = make_app(Settings(app_id="ack-test"), "127.0.0.1:9")
    app.topics._acking_topics.add("interactions")
    consumer = app.consumer
    consumer._committed_offset[INTERACTIONS] = 100  # retention deleted 100-149: the fetch jumps to 150
    asyncio.run(consumer._add_gap(INTERACTIONS, 101, 150))  # what Faust notes (from the offset after the seek)
    first = ConsumerMessage("interactions", 1, 150, 0.0, 0, None, b"k", b"v", None, tp=INTERACTIONS)
    first.tracked = True
    consumer.ack(first)
    assert consumer._new_offset(INTERACTIONS) == 151


@pytest.mark.infra
def test_an_idle_consumer_does_not_spin_on_a_broker_that_answers_empty_fetches_at_once(broker):
    """The embedded broker answers a fetch at once when there is nothing to read (it does not hold it
    for ``fetch_max_wait_ms``): aiokafka then asks again at once, thousands of times a second, which
    cost a worker most of a core while idle. Paced, an idle consumer asks about 20 times a second, a
    record produced later is still read, and the consumer closes while idle."""
    from bench.idle import bare_consumer

    unpaced = bare_consumer(broker, 1.0, pace=False)
    with_pacing = bare_consumer(broker, 1.0, pace=True)
    assert unpaced["later"] == with_pacing["later"] == "later"
    ceiling = 1.0 / EMPTY_FETCH_FLOOR_S + 5
    assert with_pacing["fetches_per_s"] <= ceiling, (with_pacing, unpaced)
    assert with_pacing["fetches_per_s"] * 10 < unpaced["fetches_per_s"] or unpaced["fetches_per_s"] <= ceiling


def test_a_paced_fetch_cancelled_while_it_waits_ends_as_aiokafkas_own_does():
    """aiokafka's `Fetcher.close` cancels its fetch tasks and awaits them; its own fetch returns False
    when cancelled. A paced fetch cancelled in its wait must too, or closing the consumer raises."""

    async def empty(assignment, node_id, request):
        return False

    async def cancelled_in_the_wait():
        task = asyncio.create_task(paced(empty)(None, 0, None))
        await asyncio.sleep(EMPTY_FETCH_FLOOR_S / 5)  # the fetch returned at once: the task is in its wait
        task.cancel()
        return await task

    assert asyncio.run(cancelled_in_the_wait()) is False


class Recovering(Consumer):
    """A consumer whose fetch position is ``positions``, under a table recovery shaped like Faust's."""

    def __init__(self, positions: dict):
        super().__init__({}, {})
        self.positions = positions
        self._paused_partitions: set[TP] = set()

    async def position(self, tp):
        if self.positions[tp] is None:  # aiokafka waits for a reset that does not come
            await asyncio.sleep(60)
        return self.positions[tp]

    def resume_partitions(self, tps):
        self._paused_partitions.difference_update(tps)

    async def seek(self, tp, offset):
        await super().seek(tp, offset)
        self.positions[tp] = offset


def recovering(consumer, offsets: dict, ends: dict, queued: int = 0):
    recovery = SimpleNamespace(
        in_recovery=True, active_tps=set(offsets), active_offsets=offsets, active_highwaters=ends
    )
    queue = SimpleNamespace(qsize=lambda: queued)
    tables = SimpleNamespace(recovery=recovery, changelog_queue=queue)
    consumer.ends = dict.fromkeys(offsets, 0)  # assigned
    # Faust keeps ``rebalancing`` set until the recovery that follows the rebalance completes
    return SimpleNamespace(consumer=consumer, rebalancing=True, in_recovery=True, tables=tables)


CHANGELOG, OTHER = TP("ingest-changelog", 1), TP("knowledge-changelog", 1)


def test_a_changelog_fetched_past_what_the_recovery_got_is_read_again_from_there():
    """What a worker showed (the recovery at -1 of 39, the position at 40, nothing queued, for minutes)."""
    consumer = Recovering({CHANGELOG: 40, OTHER: 1})
    app = recovering(consumer, {CHANGELOG: -1, OTHER: 0}, {CHANGELOG: 39, OTHER: 0})
    guard = StallGuard([{"interactions"}], Metrics())
    asyncio.run(guard.check(app))
    assert consumer.sought == []  # one sighting is not a stall
    asyncio.run(guard.check(app))
    assert consumer.sought == [(CHANGELOG, 0)]  # OTHER is recovered
    assert guard.metrics.consumer_rewinds.labels("ingest-changelog")._value.get() == 1
    app.tables.recovery.active_offsets[CHANGELOG] = 20  # reading again; then stuck once more
    consumer.positions[CHANGELOG] = 40
    asyncio.run(guard.check(app))
    asyncio.run(guard.check(app))
    assert consumer.sought == [(CHANGELOG, 0), (CHANGELOG, 21)]  # from the record after the last recovered


def test_a_recovery_that_moves_waits_for_records_or_has_them_queued_is_left_alone():
    moving = Recovering({CHANGELOG: 40})
    app = recovering(moving, {CHANGELOG: 5}, {CHANGELOG: 39})
    guard = StallGuard([{"interactions"}], Metrics())
    for offset in (5, 12, 30):
        app.tables.recovery.active_offsets[CHANGELOG] = offset
        asyncio.run(guard.check(app))
    fetching = Recovering({CHANGELOG: 6})  # the next record is not fetched yet
    queued = Recovering({CHANGELOG: 40})  # fetched, waiting in the recovery's queue
    for app in (
        recovering(fetching, {CHANGELOG: 5}, {CHANGELOG: 39}),
        recovering(queued, {CHANGELOG: 5}, {CHANGELOG: 39}, queued=34),
    ):
        guard = StallGuard([{"interactions"}], Metrics())
        for _ in range(UNFETCHED_CHECKS - 1):
            asyncio.run(guard.check(app))
    assert moving.sought == fetching.sought == queued.sought == []


def test_a_changelog_never_fetched_is_resumed_and_sought_to_the_record_the_recovery_waits_for(monkeypatch):
    """What a worker showed on 2026-11-30: the recovery at -1 of 39 for 2 minutes, the position at 0."""
    monkeypatch.setattr(transport, "POSITION_WAIT_S", 0.05)
    consumer = Recovering({CHANGELOG: 0})
    consumer._paused_partitions.add(CHANGELOG)  # left paused by an earlier generation's recovery
    app = recovering(consumer, {CHANGELOG: -1}, {CHANGELOG: 39})
    guard = StallGuard([{"interactions"}], Metrics())
    for _ in range(UNFETCHED_CHECKS - 1):
        asyncio.run(guard.check(app))
    assert consumer.sought == [] and consumer._paused_partitions == {CHANGELOG}  # a fetch may be on its way
    asyncio.run(guard.check(app))
    assert consumer.sought == [(CHANGELOG, 0)] and consumer._paused_partitions == set()
    for _ in range(UNFETCHED_CHECKS - 1):  # still nothing: not again at once ...
        asyncio.run(guard.check(app))
    assert consumer.sought == [(CHANGELOG, 0)]
    asyncio.run(guard.check(app))  # ... but as many checks later
    assert consumer.sought == [(CHANGELOG, 0)] * 2
    app.tables.recovery.active_offsets[CHANGELOG] = 20  # it moved; a position awaiting a reset for good
    consumer.positions[CHANGELOG] = None
    guard.recovering.clear()
    for _ in range(UNFETCHED_CHECKS):
        asyncio.run(guard.check(app))
    assert consumer.sought[-1] == (CHANGELOG, 21)
    assert guard.metrics.consumer_rewinds.labels("ingest-changelog")._value.get() == 3
