"""A worker as a child process (`uno worker`), with its own data dir, group and topic prefix.

Used by the tests, the benchmarks, the demo and `uno eval` to start a real worker and wait on what
it reports (through `streams.client.UnoClient`, the one HTTP client of the API). On Linux the worker
is asked to die with the process that started it: a test run or a benchmark that is killed leaves no
worker behind, consuming its topics.
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

from streams.client import UnoClient
from streams.devstack.launcher import free_port
from streams.kafka import changelog_topic, make_producer, topic_name
from uno_models import Settings


def _die_with_parent() -> None:
    """In the child, before exec: SIGTERM when the parent dies (Linux prctl PR_SET_PDEATHSIG). It fires
    when the *thread* that started the child ends: start workers from one that outlives them."""
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # 1 = PR_SET_PDEATHSIG


class WorkerProc:
    """One `uno worker` subprocess; ``settings`` become ``UNO_*`` environment variables."""

    def __init__(
        self,
        root: Path,
        broker: str,
        llm_url: str | None,
        app_id: str,
        prefix: str,
        worker_id: str,
        command: tuple[str, ...] = ("streams.cli", "worker"),
        **settings,
    ):
        """``command``: the module to run and its arguments (``uno worker``; a benchmark runs its own app)."""
        self.root = root
        self.command = command
        self.broker = broker
        self.app_id = app_id
        self.prefix = prefix
        self.port = free_port()
        self.env = {
            **os.environ,
            "UNO_BROKER_URL": broker,
            "UNO_LLM_BASE_URL": llm_url or "",
            "UNO_DATA_DIR": str(root),
            "UNO_APP_ID": app_id,
            "UNO_WORKER_ID": worker_id,
            "UNO_TOPIC_PREFIX": prefix,
            "UNO_WEB_PORT": str(self.port),
        }
        if not llm_url:  # no LLM: the extractive path, even when a local stack is running
            self.env["UNO_LLM"] = "off"
        self.env.update({f"UNO_{k.upper()}": str(v) for k, v in settings.items()})
        self.proc: subprocess.Popen | None = None
        self.log_path = root / f"worker-{self.port}.log"
        self.client = UnoClient(f"http://127.0.0.1:{self.port}", token=self.env.get("UNO_API_TOKEN", ""), timeout=30)
        self._names = Settings(topic_prefix=prefix, app_id=app_id)

    def start(self, timeout: float = 90.0) -> WorkerProc:
        self.root.mkdir(parents=True, exist_ok=True)
        offset = self.log_path.stat().st_size if self.log_path.exists() else 0  # a restart appends to the log
        with open(self.log_path, "ab") as log:  # the child keeps its own copy of the descriptor
            self.proc = subprocess.Popen(
                [sys.executable, "-m", *self.command],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.root,
                preexec_fn=_die_with_parent,
            )
        self.wait_for(lambda: b"[^Worker]: Ready" in self.log_path.read_bytes()[offset:], timeout, "worker ready")
        return self

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 60.0) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(sig)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)

    def get(self, path: str):
        return self.client.get(path)

    def samples(self, name: str) -> list[tuple[dict[str, str], float]]:
        """The samples of one metric now, as (labels, value)."""
        return [
            (sample.labels, sample.value)
            for family in text_string_to_metric_families(self.client.metrics_text())
            for sample in family.samples
            if sample.name == name
        ]

    def metric(self, name: str, **labels) -> float:
        """One metric's value, summed over the samples whose labels match ``labels``."""
        return sum(v for have, v in self.samples(name) if all(have.get(k) == want for k, want in labels.items()))

    def wait_for(self, predicate, timeout: float = 120.0, what: str = "condition", poll_s: float = 0.5) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise AssertionError(f"worker exited ({self.proc.returncode}):\n{self.tail()}")
            try:
                if predicate():
                    return
            except (OSError, httpx.TransportError):  # not answering yet
                pass
            time.sleep(poll_s)
        raise AssertionError(f"timed out waiting for {what}:\n{self.tail()}")

    def tail(self, lines: int = 40) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def topic(self, role: str) -> str:
        return topic_name(self._names, role)

    def changelog(self, table: str) -> str:
        return changelog_topic(self._names, table)

    def produce(self, role: str, records: list[tuple[bytes | None, bytes]]) -> None:
        producer = make_producer(self.broker)
        for key, value in records:
            while True:
                try:
                    producer.produce(self.topic(role), key=key, value=value)
                    break
                except BufferError:  # the local queue is full (a long stream): let it drain
                    producer.poll(0.5)
        assert producer.flush(120) == 0
