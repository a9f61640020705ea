"""An embedder that runs in child processes, so that embedding and the worker's event loop run at once.

A model that computes in this interpreter (USE-m3 in numpy) holds Python's global interpreter
lock for much of each call: tokenising, and every small array operation between the large ones. A
thread keeps the event loop responsive, but the loop and the embedder still take turns: a worker
whose USE-m3 had one BLAS thread used 0.9 of 2 cores while it ingested. In a child process the two
run in parallel. Measured by `bench.ingest` (2026-11-30, each configuration on its own broker): one
child 131.6 events/s against 116.0 with the embedder in a thread, two children 169.3. For an
embedder that costs little (hashing) the hop costs more than it saves: 529 against 680.

Several children (one per CPU by default) embed several chunks at once, each with its share of the
CPUs for its BLAS threads (at least one): much of a USE-m3 call is Python, which more BLAS threads
do not speed up and more processes do (docs/benchmarks.md, "Ingest throughput").

Each child is started (``spawn``: no copy of the parent's threads or sockets) when this is built,
loads the embedder named by the settings, and answers one call at a time. It exits within a second
of its parent (it watches its parent's pid): a worker killed with ``kill -9`` leaves no embedder
behind. If a child dies during a call (killed, out of memory), or a call takes longer than
``call_timeout`` (a hung child is killed), the call raises `EmbedderProcessError` and a new child
starts at once: the caller's retry (ingest retries a failing embedder with backoff) is the recovery,
and no record is lost. A child found dead before a call is replaced before it. A replacement that
cannot start (its model does not load, or the system has no process for it) fails the call, and the
next call starts another.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import multiprocessing
import os
import queue
import signal
import threading
import time
from collections.abc import Callable, Sequence

import numpy as np
import psutil

from processors.embedders.usem3 import blas_threads
from uno_models import Settings

_embedder = None  # in the child: the embedder it serves


class EmbedderProcessError(RuntimeError):
    """The embedder's child process died or could not start."""


def default_processes() -> int:
    """One child per CPU this process may run on, at most 4 (each holds its own copy of the model)."""
    return blas_threads(most=4)


class ProcessEmbedder:
    """`make_embedder(settings)` in ``processes`` child processes, behind the same `Embedder` interface.

    Calls from several threads run at once, each in a free child (one call per child at a time): the
    worker's ingest sends a batch's chunks from as many threads as there are children.

    ``id`` and ``dim`` are those of the embedder in the children, read when they start (~0.2 s);
    USE-m3's weights then load in the children while the worker goes on starting, as they did in
    process. ``factory`` (a module-level function, it is pickled) builds each child's embedder instead
    of `make_embedder`: for tests."""

    def __init__(
        self,
        settings: Settings,
        call_timeout: float = 120.0,
        start_timeout: float = 300.0,
        factory: Callable[[Settings, int | None], object] | None = None,
        processes: int = 1,
    ):
        # The BLAS threads of the children share the CPUs less one (the worker's event loop, the broker).
        threads = max(1, blas_threads(spare=1) // processes)
        self._children: list[_Child] = []
        try:
            self._children += [_Child(settings, threads, call_timeout, factory) for _ in range(processes)]
            described = {child.started(start_timeout) for child in self._children}  # they start at once
            if len(described) != 1:  # cannot happen with one set of settings; never mix vector spaces
                raise EmbedderProcessError(f"the embedder's processes disagree: {sorted(described)}")
        except BaseException:
            self.close()
            raise
        (self.id, self.dim), self.parallel = described.pop(), processes
        self._free: queue.SimpleQueue[_Child] = queue.SimpleQueue()
        for child in self._children:
            self._free.put(child)

    @property
    def restarts(self) -> int:
        """Children started after the first ones."""
        return sum(child.restarts for child in self._children)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        child = self._free.get()  # waits while every child is busy
        try:
            return child.embed(texts, (self.id, self.dim))
        finally:
            self._free.put(child)

    def close(self) -> None:
        for child in self._children:
            child.close()


class _Child:
    """One child process and its replacements. A child found dead before a call (killed while idle)
    is replaced before the call; one that dies or hangs during a call fails that call and is replaced
    at once, so that its model loads while the caller backs off."""

    def __init__(self, settings: Settings, threads: int, call_timeout: float, factory):
        self._settings, self._threads, self._factory = settings, threads, factory
        self._call_timeout = call_timeout
        self._pool: cf.ProcessPoolExecutor | None = None
        self._starting: cf.Future | None = None
        self._pid: int | None = None
        self.restarts = 0
        self._spawn()

    def started(self, timeout: float) -> tuple[str, int]:
        """(id, dim) of the child's embedder, once it is built."""
        assert self._pool is not None and self._starting is not None
        try:
            embedder_id, dim, self._pid = self._starting.result(timeout)
        except Exception as err:  # died, timed out, or its model did not load: the next call starts another
            self.close()
            raise EmbedderProcessError(f"the embedder's process did not start: {err!r}") from err
        return embedder_id, dim

    def embed(self, texts: Sequence[str], expected: tuple[str, int]) -> np.ndarray:
        if self._pool is None or not self._alive():
            self._replace()
        if self.started(self._call_timeout) != expected:  # cannot happen with the same settings
            self.close()
            raise EmbedderProcessError(f"the restarted embedder is not {expected}")
        assert self._pool is not None
        try:
            return self._pool.submit(_embed, list(texts)).result(self._call_timeout)
        except cf.process.BrokenProcessPool as err:
            with contextlib.suppress(OSError):  # none can start now (out of memory): the next call tries
                self._replace()
            raise EmbedderProcessError(f"the embedder's process died: {err}") from err
        except cf.TimeoutError as err:
            with contextlib.suppress(OSError):
                self._replace(kill=True)
            raise EmbedderProcessError(f"the embedder's process did not answer in {self._call_timeout:.0f} s") from err

    def close(self, kill: bool = False) -> None:
        pool, pid, self._pool, self._pid = self._pool, self._pid, None, None
        if pool is None:
            return
        if kill and pid is not None:  # a hung child would keep the pool's slot forever (3.11 has no terminate_workers)
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        pool.shutdown(wait=False, cancel_futures=True)

    def _alive(self) -> bool:
        if self._pid is None:  # still starting
            return True
        try:
            return psutil.Process(self._pid).status() != psutil.STATUS_ZOMBIE
        except psutil.NoSuchProcess:
            return False

    def _replace(self, kill: bool = False) -> None:
        self.close(kill)
        self._spawn()
        self.restarts += 1

    def _spawn(self) -> None:
        pool = cf.ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"))
        try:
            self._starting = pool.submit(_load, self._settings, os.getpid(), self._factory, self._threads)
        except BaseException:
            pool.shutdown(wait=False, cancel_futures=True)
            raise
        self._pool = pool


def _load(settings: Settings, parent: int, factory, threads: int) -> tuple[str, int, int]:
    """In the child: die with the parent, ignore the terminal's Ctrl-C (the parent stops the child),
    build the embedder (USE-m3 loads its weights in the background: the first call waits for them)."""
    threading.Thread(target=_exit_with, args=(parent,), name="watch-parent", daemon=True).start()
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    from processors.embedders import make_embedder

    global _embedder
    _embedder = (factory or make_embedder)(settings, threads)
    return _embedder.id, _embedder.dim, os.getpid()


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
