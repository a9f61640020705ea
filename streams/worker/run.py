"""Running a worker: create missing topics, build the Faust app, run it until a signal stops it.

With tables on disk (``store = "rocksdb"``), a table write goes to the local database at once and to
its changelog when the producer sends it. A worker killed in between leaves its local copy *ahead*
of the changelog (which another worker, or a restart, would recover from), and a restarted worker
would skip the records it had not acknowledged as duplicates while their writes never reached the
changelog. So, as Kafka Streams does with its ``.checkpoint`` file, the local tables are kept only
after a clean stop (marked by `CLEAN_STOP` once the worker has flushed and exited with status 0);
after any other stop they are deleted and recovered from the changelog, as the memory store always
is.
"""

from __future__ import annotations

import logging
import shutil
import time

import faust

from processors.embedders.process import ProcessEmbedder
from streams.kafka import ensure_topics
from streams.worker.app import Endpoints, build_worker, local_tables
from streams.worker.malloc import TRIM_EVERY_S, bound_malloc, keep_trimming
from uno_models import Settings

log = logging.getLogger(__name__)

CLEAN_STOP = ".clean-stop"


def keep_local_tables(settings: Settings) -> None:
    """Before a start: delete the local tables unless the last run stopped cleanly."""
    tables = local_tables(settings)
    marker = tables / CLEAN_STOP
    if tables.exists() and not marker.exists():
        log.warning("the last run did not stop cleanly: local tables deleted, recovering them from the changelog")
        shutil.rmtree(tables)
    marker.unlink(missing_ok=True)  # from now until a clean stop, what is on disk may run ahead


def run_worker(settings: Settings, endpoints: Endpoints, loglevel: str = "info") -> None:
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per LLM request is noise
    if settings.bounded_malloc and bound_malloc():
        log.info("malloc: blocks of 128 KiB and more in mappings of their own (bounded_malloc)")
    if settings.bounded_malloc and keep_trimming():
        log.info("malloc: the heap's free pages given back every %.0f s (bounded_malloc)", TRIM_EVERY_S)
    created = ensure_topics(settings, endpoints.broker)
    log.info("broker %s; created topics: %s", endpoints.broker, created or "none")
    if settings.store == "rocksdb":
        log.info("tables on disk (RocksDB) under %s", local_tables(settings))
        keep_local_tables(settings)
    worker = build_worker(settings, endpoints)
    # faust.Worker installs the signal handlers: SIGTERM/SIGINT stop the agents, flush the producer
    # and commit the offsets processed so far.
    clean = False
    try:
        faust.Worker(worker.app, loglevel=loglevel, quiet=True).execute_from_commandline()
    except SystemExit as stopped:
        clean = stopped.code in (0, None)
        raise
    finally:
        worker.spool.close()
        worker.refresher.close()
        worker.store.close()
        if isinstance(worker.embedder, ProcessEmbedder):
            worker.embedder.close()
        if clean and settings.store == "rocksdb" and local_tables(settings).exists():
            (local_tables(settings) / CLEAN_STOP).write_text(f"{time.time()}\n")
