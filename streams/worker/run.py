"""Running a worker: create missing topics, build the Faust app, run it until a signal stops it."""

from __future__ import annotations

import logging

import faust

from streams.kafka import ensure_topics
from streams.worker.app import Endpoints, build_worker
from uno_models import Settings


def run_worker(settings: Settings, endpoints: Endpoints, loglevel: str = "info") -> None:
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per LLM request is noise
    created = ensure_topics(settings, endpoints.broker)
    logging.getLogger(__name__).info("broker %s; created topics: %s", endpoints.broker, created or "none")
    worker = build_worker(settings, endpoints)
    # faust.Worker installs the signal handlers: SIGTERM/SIGINT stop the agents, flush the producer
    # and commit the offsets processed so far.
    try:
        faust.Worker(worker.app, loglevel=loglevel, quiet=True).execute_from_commandline()
    finally:
        worker.spool.close()
        worker.refresher.close()
        worker.store.close()
