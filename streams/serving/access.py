"""Who may do what: bearer tokens scoped to namespaces and roles, and a rate limit per token.

``UNO_API_TOKENS`` (secret, environment only) lists scoped tokens, comma-separated, each
``token=role:namespaces[:rate]``: role ``read`` (modules, clusters, retrieval), ``write`` (that,
plus feedback and the chat proxy) or ``admin`` (that, plus rollbacks); namespaces separated by
``|``, ``*`` for all; an optional rate in requests per second (default ``UNO_API_RATE_PER_S``).
``UNO_API_TOKEN`` is an admin token on every namespace. With no token at all the API is reachable
from this machine only (`Settings.__post_init__`) and every route is open there.

>>> grants = parse_grants("r1=read:legal|tax,w1=write:*:5")
>>> grants["r1"].allows("legal", "read"), grants["r1"].allows("legal", "write"), grants["r1"].allows("hr", "read")
(True, False, False)
>>> grants["w1"].allows("anything", "write"), grants["w1"].rate_per_s
(True, 5.0)
"""

from __future__ import annotations

import hmac
import time
from dataclasses import dataclass, field

ROLES = {"read": 0, "write": 1, "admin": 2}
MAX_BUCKETS = 10_000


@dataclass(frozen=True)
class Grant:
    """What one token may do."""

    name: str  # how logs and metrics name it (never the token itself)
    role: str
    namespaces: frozenset[str]
    rate_per_s: float | None = None

    def allows(self, namespace: str | None, role: str) -> bool:
        """``role`` on ``namespace`` (None: a route over every namespace, which needs ``*``)."""
        if ROLES[self.role] < ROLES[role]:
            return False
        return "*" in self.namespaces or (namespace is not None and namespace in self.namespaces)


def parse_grants(spec: str, admin_token: str = "") -> dict[str, Grant]:
    """Tokens -> grants, from ``UNO_API_TOKENS`` and ``UNO_API_TOKEN``; a bad entry raises ValueError naming it
    by position (never by its token)."""
    grants: dict[str, Grant] = {}
    for i, entry in enumerate(e.strip() for e in spec.split(",") if e.strip()):
        token, sep, rest = entry.partition("=")
        parts = rest.split(":")
        if not sep or not token or len(parts) not in (2, 3) or parts[0] not in ROLES or not parts[1]:
            raise ValueError(
                f"api_tokens entry {i + 1}: expected token=role:namespaces[:rate], role one of {list(ROLES)}"
            )
        rate = None
        if len(parts) == 3:
            try:
                rate = float(parts[2])
            except ValueError:
                raise ValueError(f"api_tokens entry {i + 1}: the rate must be a number") from None
            if rate <= 0:
                raise ValueError(f"api_tokens entry {i + 1}: the rate must be positive")
        grants[token] = Grant(f"token-{i + 1}", parts[0], frozenset(parts[1].split("|")), rate)
    if admin_token:
        grants[admin_token] = Grant("api-token", "admin", frozenset({"*"}))
    return grants


def find_grant(grants: dict[str, Grant], authorization: str) -> Grant | None:
    """The grant of a ``Bearer`` header, compared in constant time against every token."""
    offered = authorization.removeprefix("Bearer ").encode() if authorization.startswith("Bearer ") else b""
    found = None
    for token, grant in grants.items():
        if hmac.compare_digest(offered, token.encode()):
            found = grant
    return found


@dataclass
class RateLimiter:
    """A token bucket per key: ``rate_per_s`` sustained, bursts of ``2 x rate`` (at least 1)."""

    rate_per_s: float
    clock: object = time.monotonic
    _buckets: dict[str, tuple[float, float]] = field(default_factory=dict)

    def take(self, key: str, rate_per_s: float | None = None) -> float:
        """0 if a request may go now (and counts it), else the seconds until one may."""
        rate = rate_per_s or self.rate_per_s
        burst = max(1.0, 2 * rate)
        now = self.clock()
        if len(self._buckets) > MAX_BUCKETS:  # many client addresses: forget the ones idle for a minute
            self._buckets = {k: v for k, v in self._buckets.items() if now - v[1] < 60}
        tokens, at = self._buckets.get(key, (burst, now))
        tokens = min(burst, tokens + (now - at) * rate)
        if tokens >= 1:
            self._buckets[key] = (tokens - 1, now)
            return 0.0
        self._buckets[key] = (tokens, now)
        return (1 - tokens) / rate
