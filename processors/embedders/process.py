"""An embedder that runs in a child process, so that embedding and the worker's event loop run at once.

A model that computes in this interpreter (USE-m3 in numpy) holds Python's global interpreter
lock for much of each call: tokenising, and every small array operation between the large ones. A
thread keeps the event loop responsive, but the loop and the embedder still take turns: a worker
whose USE-m3 had one BLAS thread used 0.9 of 2 cores while it ingested. In a child process the two
run in parallel, and a multi-threaded model leaves one CPU to the event loop (on 2 cores its BLAS
threads otherwise wait for each other whenever the loop takes one of them). Measured in one
`bench.ingest` run (2026-11-30): 123.7 events/s against 98.4 with the embedder in a thread (1.26x).
For an embedder that costs little (hashing) the hop costs more than it saves: 529 against 680.

The child is started (``spawn``: no copy of the parent's threads or sockets) when this is built,
loads the embedder named by the settings, and answers one call at a time. It exits within a second
of its parent (it watches its parent's pid): a worker killed with ``kill -9`` leaves no embedder
behind. If the child dies (killed, out of memory), or a call takes longer than ``call_timeout``
(a hung child is killed), the call in hand raises `EmbedderProcessError` and the next call starts a
new child: the caller's retry (ingest retries a failing embedder with backoff) is the recovery, and
no record is lost.
"""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable, Sequence

import numpy as np

from uno_models import Settings

_embedder = None  # in the child: the embedder it serves


class EmbedderProcessError(RuntimeError):
    """The embedder's child process died or could not start."""


class ProcessEmbedder:
    """`make_embedder(settings)` in a child process, behind the same `Embedder` interface.

    ``id`` and ``dim`` are those of the embedder in the child, read when it starts (~0.2 s); USE-m3's
    weights then load in the child while the worker goes on starting, as they did in process.
    ``factory`` (a module-level function, it is pickled) builds the child's embedder instead of
    `make_embedder`: for tests."""

    def __init__(
        self,
        settings: Settings,
        call_timeout: float = 120.0,
        start_timeout: float = 300.0,
        factory: Callable[[Settings], object] | None = None,
    ):
        self._settings, self._factory = settings, factory
        self._call_timeout, self._start_timeout = call_timeout, start_timeout
        self._lock = threading.Lock()
        self._pool: cf.ProcessPoolExecutor | None = None
        self.restarts = 0  # children started after the first
        self.id, self.dim = self._start()

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        pool = self._pool or self._restart()
        try:
            return pool.submit(_embed, list(texts)).result(self._call_timeout)
        except cf.process.BrokenProcessPool as err:
            self._drop(pool)
            raise EmbedderProcessError(f"the embedder's process died: {err}") from err
        except cf.TimeoutError as err:
            self._drop(pool, kill=True)
            raise EmbedderProcessError(f"the embedder's process did not answer in {self._call_timeout:.0f} s") from err

    def close(self) -> None:
        if self._pool is not None:
            self._drop(self._pool)

    # ------------------------------------------------------------------ the child

    def _start(self) -> tuple[str, int]:
        pool = cf.ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"))
        try:
            described = pool.submit(_load, self._settings, os.getpid(), self._factory).result(self._start_timeout)
        except (cf.process.BrokenProcessPool, cf.TimeoutError) as err:
            pool.shutdown(wait=False, cancel_futures=True)
            raise EmbedderProcessError(f"the embedder's process did not start: {err!r}") from err
        self._pool = pool
        return described

    def _restart(self) -> cf.ProcessPoolExecutor:
        with self._lock:
            if self._pool is None:
                described = self._start()
                if described != (self.id, self.dim):  # cannot happen with the same settings; never mix spaces
                    self.close()
                    raise EmbedderProcessError(f"the restarted embedder is {described}, not {(self.id, self.dim)}")
                self.restarts += 1
            assert self._pool is not None
            return self._pool

    def _drop(self, pool: cf.ProcessPoolExecutor, kill: bool = False) -> None:
        with self._lock:
            if self._pool is pool:
                self._pool = None
        if kill:  # a hung child would keep the pool's slot forever (3.11 has no terminate_workers)
            for process in list(pool._processes.values()):
                process.kill()
        pool.shutdown(wait=False, cancel_futures=True)


def _load(settings: Settings, parent: int, factory: Callable[[Settings], object] | None) -> tuple[str, int]:
    """In the child: die with the parent, ignore the terminal's Ctrl-C (the parent stops the child),
    build the embedder (USE-m3 loads its weights in the background: the first call waits for them)."""
    threading.Thread(target=_exit_with, args=(parent,), name="watch-parent", daemon=True).start()
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    from processors.embedders import make_embedder

    global _embedder
    # one CPU for the worker's event loop and the broker
    _embedder = factory(settings) if factory else make_embedder(settings, spare_cpus=1)
    return _embedder.id, _embedder.dim


def _embed(texts: list[str]) -> np.ndarray:
    assert _embedder is not None, "the embedder's process was not started"
    return _embedder.embed(texts)


def _exit_with(parent: int, every_s: float = 1.0) -> None:
    """In the child: exit as soon as the parent is gone (the child is then adopted: its parent pid
    changes). Polling, not ``PR_SET_PDEATHSIG``: that signal follows the *thread* that started the
    child, which may be a pool thread."""
    while os.getppid() == parent:
        time.sleep(every_s)
    os._exit(0)
