"""PII redaction on the cases a reviewer found missing (issue 15), English and Chinese; the labelled
set with recall per kind is `python -m bench.pii` (docs/benchmarks.md)."""

from __future__ import annotations

import pytest

from processors.pii import redact


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("call 13812345678 today", "call [PHONE] today"),
        ("我的手机号是13812345678，谢谢", "我的手机号是[PHONE]，谢谢"),
        ("ring +31612345678", "ring [PHONE]"),
        ("或者打+86 139 1234 5678", "或者打[PHONE]"),
        ("身份证号11010519491231002X", "身份证号[ID]"),
        ("key AKIAIOSFODNN7EXAMPLE in the log", "key [SECRET] in the log"),
        ("token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n", "token [SECRET]"),
        ("password=hunter2! and then", "password=[SECRET] and then"),
        ("密码 password: s3cr3t，别告诉别人", "密码 password: [SECRET]，别告诉别人"),
        ("from fe80::1ff:fe23:4567:890a", "from [IP]"),
        ("卡号4111 1111 1111 1111请保密", "卡号[CARD]请保密"),
    ],
)
def test_personal_data_and_secrets_are_replaced(text, expected):
    assert redact(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "The hearing is on 2024-03-15 at 10:30.",
        "开庭时间是2024年3月15日上午9点，地点在第三法庭。",
        "Order 20240315 shipped 15/03/2024; total $1299.00 for 3 items.",
        "根据《刑法》第264条，判处有期徒刑3年。",
        "Upgrade from v1.2.3 to 2.0; revenue grew 12.5% to 340 million in 2023.",
        "The ratio is 3:2 and the time 10:30:15.",
    ],
)
def test_dates_prices_and_numbers_that_are_not_personal_stay(text):
    assert redact(text) == text
