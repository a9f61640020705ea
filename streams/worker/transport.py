"""Faust's aiokafka transport, with three fixes so that no record is left unhandled around a recovery.

Faust (0.15.3) throws records away in two places while a recovery or rebalance is under way: a fetch
for a partition that was paused by the time it is read, and a record a stream takes from its queue
while flow control is off (which it even acknowledges). It relies on the seek that ends recovery
("Seek stream partitions to committed offsets") to read them again. Found by
tests/faults/test_kills.py with kills 1-4 s after each chunk (records left unconsumed until the next
restart), each fix here closes one way that went wrong:

1. `ConsumerThread`: aiokafka's `seek_to_committed` seeks only partitions whose committed offset is
   above 0; a partition the group never committed (a worker killed in its first seconds, a new
   topic) kept its position past the dropped records. It is sought to the record after the last one
   given to a stream, or to its beginning (where ``consumer_auto_offset_reset="earliest"`` starts it),
   and that offset is noted (`Consumer.start_offsets`): Faust keeps a committed 0 as None, and with
   None its commit passed a dropped record at the head (lost for good).
2. `Consumer`: a record no agent was given is not acknowledged, and the commit never passes the
   record at the committed offset until it is handled (Faust's own check lets one missing record by).
3. `StallGuard`: a partition whose records were dropped after that seek (a fetch racing it) is sought
   back to its committed offset when the guard sees it stalled; a table recovery whose changelog
   records stop coming is sought back (and its partition resumed) the same way.

And one fix for CPU: a broker that answers a fetch at once when there is nothing to read, instead of
holding it up to ``fetch_max_wait_ms`` (the embedded noida-db does: ~2,400 empty fetches a second,
~0.8 of a core spent by an *idle* consumer), is asked again no sooner than `EMPTY_FETCH_FLOOR_S` after
the last ask. A broker that long-polls answers an empty fetch only after its wait, so nothing changes.

Records read twice are de-duplicated by event id (refresh requests by batch id).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

import faust
from faust.transport.drivers import aiokafka as driver

log = logging.getLogger(__name__)

EMPTY_FETCH_FLOOR_S = 0.05  # at most 20 empty fetches a second per broker; a new record waits at most this


def paced(fetch):
    """``Fetcher._proc_fetch_request`` that, when it added no records, returns no sooner than
    `EMPTY_FETCH_FLOOR_S` after it started (aiokafka sends a broker its next fetch when the last one
    returns)."""

    async def paced_fetch(assignment, node_id, request):
        started = time.monotonic()
        added = await fetch(assignment, node_id, request)
        if not added and (rest := EMPTY_FETCH_FLOOR_S - (time.monotonic() - started)) > 0:
            # cancelled (a close, an unassignment): end as aiokafka's own fetch does, `Fetcher.close` awaits it
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.sleep(rest)
        return added

    return paced_fetch


class ConsumerThread(driver.AIOKafkaConsumerThread):
    async def on_start(self) -> None:
        await super().on_start()
        fetcher = self._consumer._fetcher  # created by start(); its fetch loop looks the method up each time
        fetcher._proc_fetch_request = paced(fetcher._proc_fetch_request)

    async def seek_to_committed(self):
        return await self.call_thread(self._seek_to_committed)

    async def _seek_to_committed(self):
        consumer = self._ensure_consumer()
        committed = await consumer.seek_to_committed()
        changelogs = self.consumer.app.tables.changelog_topics  # positioned by table recovery, not here
        for tp, offset in committed.items():
            if tp.topic in changelogs:
                continue
            if (offset or 0) > 0:
                self.consumer.start_offsets.pop(tp, None)  # sought by aiokafka; the commit holds its place
                continue
            # After the last record given to the streams (what was fetched after it may have been
            # dropped; what was given is not read twice), else from 0: an offset retention removed is
            # out of range and aiokafka resets it to the earliest. A plain seek, never one that waits
            # for the fetcher: this runs on the consumer's thread, which a rebalance may be holding.
            handed = self.consumer._read_offset.get(tp)
            start = self.consumer.start_offsets[tp] = handed + 1 if handed is not None else 0
            consumer.seek(tp, start)
        return committed


def held_at(consumer, tp) -> int | None:
    """The offset ``tp``'s commit waits at: the committed one, else (none, or 0: Faust keeps both as
    None) where `ConsumerThread` sought the partition, if it did."""
    committed = consumer._committed_offset.get(tp)
    return committed if committed is not None else getattr(consumer, "start_offsets", {}).get(tp)


class Consumer(driver.Consumer):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # tp -> where `ConsumerThread` sought a partition with no committed offset above 0 (Faust keeps
        # a committed 0 as None, and with None commits past records at the head that no agent was
        # given); raised to the log's first offset by the `StallGuard` when retention removed the rest
        self.start_offsets: dict = {}

    def _new_consumer_thread(self) -> ConsumerThread:
        return ConsumerThread(self, loop=self.loop, beacon=self.beacon)

    def ack(self, message) -> bool:
        """A record a stream skipped (taken from its queue while flow control was off, or of an older
        generation) was never handed to an agent: Faust acknowledges it "so that the lag does not grow",
        which lets the commit move past a record nobody handled. Not acknowledged here, the commit stops
        at it and it is read again (by the seek that ends recovery, or the `StallGuard`)."""
        if not message.tracked:  # tracked: a stream gave it to its agent
            return False
        return super().ack(message)

    def _new_offset(self, tp):
        """The offset to commit, never past the record at the committed offset while it is not handled.
        Faust allows one missing record there (it checks ``min(acked) - committed > 1``), which lost the
        record a stream skipped. A record there that is gone for good (deleted by retention) is inside
        the gap Faust notes when the fetch jumps, which starts one after the offset it sought to."""
        base = held_at(self, tp)
        if (
            base is not None
            and self._acked[tp]
            and base not in self._acked_index[tp]
            and not self._gap[tp].overlaps(base)
            and not self._gap[tp].overlaps(base + 1)
        ):
            return None
        return super()._new_offset(tp)


class Transport(driver.Transport):
    Consumer = Consumer


class App(faust.App):
    """`faust.App` on the transport above (the producer's transport is unchanged)."""

    def _new_transport(self):
        return Transport(self.conf.broker_consumer, self)


class StallGuard:
    """Reads a partition again from its committed offset when records Faust fetched never reach an agent.

    Faust drops records in more than one place while a rebalance or recovery is under way (a fetch for
    a paused partition, a record taken from a stream's queue while flow control is off) and counts on
    the seek that ends recovery to read them again; a fetch that races that seek leaves them unread
    until the next restart. Every ``check`` (a timer, ten seconds apart: commits come every few) looks
    at each input partition whose log goes past its committed offset. The record at that offset is
    missing if it is not in flight and either a later record of the partition was handled (records go
    in order: it was skipped; the commit waits for it, see `Consumer._new_offset`) or the agent that
    reads the partition holds nothing at all while its end stays where it was. Seen so twice in a row,
    the partition is sought back to its committed offset (its beginning if none), once per stall,
    counted in ``uno_consumer_rewinds_total``. Records read twice are de-duplicated by event id;
    refresh requests are idempotent by batch id.

    ``groups``: the topics each agent reads (an agent busy with one of them may have the others queued).
    """

    def __init__(self, groups: list[set[str]], metrics) -> None:
        self.groups = groups
        self.metrics = metrics
        self.seen: dict = {}  # tp -> what it looked like at the last check, when it looked stalled
        self.rewound: dict = {}  # tp -> the same, when it was last sought back (once per stall)
        self.recovering: dict = {}  # changelog tp -> ((offset recovered to, position), checks seen so)

    async def check(self, app: faust.App) -> None:
        consumer = app.consumer
        if app.rebalancing or getattr(app, "in_recovery", False) or not consumer.flow_active:
            self.seen.clear()
            await self.check_recovery(app)
            return
        in_flight = [(m.tp, m.offset) for m in consumer.unacked]  # handed to an agent, not yet done
        busy = {tp.topic for tp, _ in in_flight}
        seen, self.seen = self.seen, {}
        for tp in consumer.assignment():
            group = next((g for g in self.groups if tp.topic in g), None)
            committed = held_at(consumer, tp)
            started = committed is not None and consumer._committed_offset.get(tp) is None
            try:
                end = consumer.highwater(tp)
            except Exception:  # nothing fetched yet
                continue
            if group is None or end is None or end <= (committed or 0) or (tp, committed) in in_flight:
                continue
            acked = consumer._acked.get(tp)  # handled, waiting for a commit (which fails while the broker is away)
            if committed is not None and committed in consumer._acked_index.get(tp, ()):
                continue  # the record at the committed offset was handled: the commit is on its way
            if acked and committed is not None:
                state = (committed, "skipped")  # later records handled, not that one: the end may move meanwhile
            elif not acked and not group & busy:
                state = (committed, end)  # nothing handled, nothing in flight, nothing moving
            else:
                continue
            self.seen[tp] = state
            if seen.get(tp) != state or self.rewound.get(tp) == state:
                continue  # first sighting, changed since, or already read again (a trailing control record)
            if started and acked and (first := await log_start(consumer, tp)) is not None and first > committed:
                consumer.start_offsets[tp] = first  # retention removed the head: the commit may start there
                continue
            offset = committed if committed is not None else 0  # 0: reset to the earliest, as in ConsumerThread
            log.warning("%s: records from %s on were fetched but never handled; reading them again", tp, offset)
            self.metrics.consumer_rewinds.labels(tp.topic).inc()
            await consumer.seek(tp, offset)
            self.rewound[tp] = state

    async def check_recovery(self, app: faust.App) -> None:
        """Reads a changelog partition again from where the table recovery stopped, when its records
        stop reaching the recovery.

        Seen on a worker that kept its partition through a rebalance (one of two workers replaced):
        its recovery had to read offsets 0-39 of the changelog again (the memory store keeps no
        offsets), and not one record reached it, which then waited for them for good. Two shapes:

        - fetched past (1 run in 4 of tests/streams/test_worker.py's move test): the consumer's
          position went to 40 and the records were dropped (the same drop as `ConsumerThread`
          describes, on a changelog). Seen at two checks in a row (the recovery's offset and the
          position unchanged, past it, nothing queued for the recovery), the partition is sought back
          to the record after the last one recovered;
        - never fetched (not yet seen live: the stall of 1 suite in 5 on 2026-11-30 went unread, the
          check then waiting for ``app.rebalancing`` to clear): the position stays at the record the
          recovery waits for, or awaits a reset. Seen at `UNFETCHED_CHECKS` checks in a row (20-30 s
          without a fetch of a record the broker has), the partition is resumed in Faust's consumer
          (a partition left out of its active set is never asked for) and sought to that record
          again, which restarts its fetch.

        Either is counted in ``uno_consumer_rewinds_total`` and logged with what the consumer showed
        (Faust's paused and active sets, aiokafka's partition state), and done again if the recovery
        still does not move as many checks later (a broker away meanwhile costs a seek per 30 s). A changelog read
        twice rewrites the same keys with the same values."""
        seen, self.recovering = self.recovering, {}
        # Not gated on ``app.rebalancing``: Faust keeps it set until the recovery completes (it calls
        # ``on_rebalance_end`` only then), so a guard that waited for it never saw a live recovery.
        if not getattr(app, "in_recovery", False) or app.tables.changelog_queue.qsize():
            return
        recovery = app.tables.recovery
        assigned = app.consumer.assignment()
        for tp in [tp for tp in recovery.active_tps if tp in assigned]:  # a rebalance may be moving them
            offset, end = recovery.active_offsets.get(tp), recovery.active_highwaters.get(tp)
            if offset is None or end is None or offset >= end:
                continue  # recovered (or nothing to recover)
            try:
                position = await asyncio.wait_for(app.consumer.position(tp), POSITION_WAIT_S)
            except Exception:  # no valid position (awaiting a reset): as unfetched, a seek gives it one
                position = None
            fetched_past = position is not None and position > offset + 1
            last, sightings = seen.get(tp, (None, 0))
            sightings = sightings + 1 if last == (offset, position) else 1
            self.recovering[tp] = ((offset, position), sightings)
            if sightings < (2 if fetched_past else UNFETCHED_CHECKS):
                continue  # first sighting(s), or the recovery moved on since
            what = "fetched but never recovered" if fetched_past else "never fetched"
            log.warning(
                "%s: records from %s on (of %s) were %s; reading them again. %s",
                tp, offset + 1, end + 1, what, describe(app.consumer, tp),
            )  # fmt: skip
            self.metrics.consumer_rewinds.labels(tp.topic).inc()
            if not fetched_past:
                app.consumer.resume_partitions([tp])
            await app.consumer.seek(tp, offset + 1)
            self.recovering[tp] = ((offset, offset + 1), 0)  # unmoved after this, acted on again in as many checks


async def log_start(consumer, tp) -> int | None:
    """The offset of the first record ``tp`` still has (None when the broker does not say)."""
    try:
        return (await asyncio.wait_for(consumer.earliest_offsets(tp), POSITION_WAIT_S)).get(tp)
    except Exception:  # the broker away: the next check asks again
        return None


POSITION_WAIT_S = 5.0  # aiokafka's position() waits for a partition's reset; longer: none has come
UNFETCHED_CHECKS = 3  # checks a recovery may wait for its next record, unfetched, before the guard acts


def describe(consumer, tp) -> str:
    """What Faust's consumer and aiokafka's show of ``tp`` (for the log of a stall)."""
    facts = {
        "flow_active": getattr(consumer, "flow_active", None),
        "faust_paused": tp in getattr(consumer, "_paused_partitions", ()),
        "faust_active": tp in (getattr(consumer, "_active_partitions", None) or ()),
    }
    try:
        state = consumer._thread._ensure_consumer()._subscription.subscription.assignment.state_value(tp)
        facts |= {"paused": state.paused, "valid_position": state.has_valid_position, "reset": state.awaiting_reset}
    except Exception as err:  # not the aiokafka driver, or unassigned meanwhile
        facts["aiokafka"] = repr(err)
    return " ".join(f"{k}={v}" for k, v in facts.items())
