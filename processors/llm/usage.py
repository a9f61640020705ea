"""Token and latency accounting per purpose, in one place.

The streaming app attaches an observer that feeds Prometheus; tests and the batch replay read the
ledger directly.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Callable
from typing import NamedTuple


class CallRecord(NamedTuple):
    """One LLM request: what it was for, how it ended, its tokens and latency."""

    purpose: str  # distill, prior, judge, revise, verify, critique, answer
    outcome: str  # ok, retry, transport, unparseable
    prompt_tokens: int
    completion_tokens: int
    latency_s: float


class UsageLedger:
    """Counts LLM calls, tokens and latency by purpose and outcome (thread-safe)."""

    def __init__(self, observer: Callable[[CallRecord], None] | None = None):
        self._lock = threading.Lock()
        self._observer = observer
        self.calls: dict[tuple[str, str], int] = defaultdict(int)
        self.prompt_tokens: dict[str, int] = defaultdict(int)
        self.completion_tokens: dict[str, int] = defaultdict(int)
        self.latency_s: dict[str, float] = defaultdict(float)

    def record(self, rec: CallRecord) -> None:
        with self._lock:
            self.calls[(rec.purpose, rec.outcome)] += 1
            self.prompt_tokens[rec.purpose] += rec.prompt_tokens
            self.completion_tokens[rec.purpose] += rec.completion_tokens
            self.latency_s[rec.purpose] += rec.latency_s
        if self._observer is not None:
            self._observer(rec)

    def requests(self, purpose: str | None = None) -> int:
        """HTTP requests made (every attempt counts), for one purpose or all."""
        return sum(n for (p, _), n in self.calls.items() if purpose is None or p == purpose)

    def total_tokens(self) -> int:
        return sum(self.prompt_tokens.values()) + sum(self.completion_tokens.values())

    def summary(self) -> dict[str, dict[str, float]]:
        purposes = {p for p, _ in self.calls}
        return {
            p: {
                "requests": self.requests(p),
                "prompt_tokens": self.prompt_tokens[p],
                "completion_tokens": self.completion_tokens[p],
                "latency_s": round(self.latency_s[p], 3),
            }
            for p in sorted(purposes)
        }
