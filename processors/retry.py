"""The one retry policy: which failures are transient, how long to wait between attempts, and the
OpenAI-compatible clients built with their own retries off (so every retry is ours, and counted).

Built on tenacity. Everything that calls a remote model (the LLM wrapper, the embeddings endpoint,
the chat proxy's upstream, the evaluation's judge) and the refresh agent's requeue use this module.

>>> [round(backoff_s(n, base_s=0.5, cap_s=60.0, jitter=False), 2) for n in (1, 2, 3, 10)]
[0.5, 1.0, 2.0, 60.0]
>>> import httpx
>>> calls = []
>>> def flaky():
...     calls.append(1)
...     if len(calls) < 3:
...         raise openai.APIConnectionError(request=httpx.Request("GET", "http://x"))
...     return "ok"
>>> retrying(attempts=3, base_s=0.0)(flaky), len(calls)
('ok', 3)
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import TypeVar

import openai
import tenacity

T = TypeVar("T")

#: Failures worth another attempt: the request may succeed later, unchanged.
TRANSIENT: tuple[type[BaseException], ...] = (
    openai.APIConnectionError,  # includes APITimeoutError
    openai.RateLimitError,
    openai.InternalServerError,
)


def backoff_s(attempt: int, base_s: float = 0.5, cap_s: float = 60.0, jitter: bool = True) -> float:
    """Seconds to wait after failed attempt number ``attempt`` (1-based): exponential, capped, jittered
    to between 0.5 and 1.5 times the step so that many clients do not retry in step."""
    step = min(cap_s, base_s * 2 ** min(attempt - 1, 30))
    return step * (0.5 + random.random()) if jitter else step


def _wait(base_s: float, cap_s: float) -> Callable[[tenacity.RetryCallState], float]:
    return lambda state: backoff_s(state.attempt_number, base_s, cap_s)


def policy(
    attempts: int,
    base_s: float = 0.5,
    cap_s: float = 60.0,
    retry_on: tuple[type[BaseException], ...] = TRANSIENT,
) -> dict:
    """Keyword arguments for `tenacity.Retrying` / `tenacity.AsyncRetrying`: ``attempts`` in all, the
    backoff above, retrying only ``retry_on``; the last failure is re-raised as itself."""
    return {
        "stop": tenacity.stop_after_attempt(max(1, attempts)),
        "wait": _wait(base_s, cap_s),
        "retry": tenacity.retry_if_exception_type(retry_on),
        "reraise": True,
    }


def retrying(attempts: int, base_s: float = 0.5, retry_on: tuple[type[BaseException], ...] = TRANSIENT):
    """Call a function under the policy: ``retrying(3)(fn, *args)``."""
    return tenacity.Retrying(**policy(attempts, base_s, retry_on=retry_on))


def async_retrying(attempts: int, base_s: float = 0.5, retry_on: tuple[type[BaseException], ...] = TRANSIENT):
    """The same policy for coroutines: ``await async_retrying(2)(coro_fn, *args)``; ``coro_fn`` must be an
    ``async def`` function (a decorated SDK method is not recognised as one: wrap it)."""
    return tenacity.AsyncRetrying(**policy(attempts, base_s, retry_on=retry_on))


def openai_client(base_url: str, api_key: str = "", timeout_s: float = 120.0, **kwargs) -> openai.OpenAI:
    """An OpenAI-compatible client whose SDK retries are off: retries happen under this policy."""
    return openai.OpenAI(base_url=base_url, api_key=api_key or "unused", timeout=timeout_s, max_retries=0, **kwargs)


def async_openai_client(base_url: str, api_key: str = "", timeout_s: float = 120.0, **kwargs) -> openai.AsyncOpenAI:
    """The asynchronous twin of `openai_client`."""
    return openai.AsyncOpenAI(
        base_url=base_url, api_key=api_key or "unused", timeout=timeout_s, max_retries=0, **kwargs
    )


__all__ = ["TRANSIENT", "async_openai_client", "async_retrying", "backoff_s", "openai_client", "policy", "retrying"]
