"""Scoped tokens and the per-token rate limit (pure logic; the routes are tested in test_api.py)."""

from __future__ import annotations

import pytest

from streams.serving.access import RateLimiter, find_grant, parse_grants


def test_grants_parse_roles_namespaces_and_rates_and_refuse_bad_entries_without_echoing_tokens():
    grants = parse_grants("r1=read:legal|tax, w1=write:*:5", admin_token="adm")
    assert grants["r1"].allows("tax", "read") and not grants["r1"].allows("hr", "read")
    assert not grants["r1"].allows("legal", "write") and not grants["r1"].allows(None, "read")
    assert grants["w1"].allows("hr", "write") and not grants["w1"].allows("hr", "admin")
    assert grants["adm"].allows(None, "admin") and grants["w1"].rate_per_s == 5.0
    for bad in ("secret-token", "secret-token=owner:legal", "secret-token=read:", "secret-token=read:x:fast"):
        with pytest.raises(ValueError, match="api_tokens entry 1") as err:
            parse_grants(bad)
        assert "secret-token" not in str(err.value)


def test_a_bearer_header_finds_its_grant_and_nothing_else_does():
    grants = parse_grants("r1=read:legal")
    assert find_grant(grants, "Bearer r1").name == "token-1"
    for header in ("", "r1", "Bearer r2", "Bearer r1 ", "bearer r1"):
        assert find_grant(grants, header) is None


def test_the_rate_limit_allows_a_burst_then_the_sustained_rate():
    now = [0.0]
    limiter = RateLimiter(2.0, clock=lambda: now[0])
    assert [limiter.take("a") for _ in range(4)] == [0.0] * 4  # a burst of 2 x rate
    assert limiter.take("a") == pytest.approx(0.5) and limiter.take("b") == 0.0  # buckets are per key
    now[0] += 0.5
    assert limiter.take("a") == 0.0 and limiter.take("a") > 0
