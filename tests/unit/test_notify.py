"""The pure parts of alarm delivery: back-off, the webhook signature, masking and redaction."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime, timedelta

from custos.domain.notify import RetryPolicy, mask_url, redact, webhook_signature

NOW = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)


def test_back_off_waits_ten_seconds_then_doubles_and_gives_up_after_five_tries() -> None:
    policy = RetryPolicy()
    waits = [policy.after_failure(n, NOW) for n in range(1, 6)]
    assert [w - NOW if w else None for w in waits] == [
        timedelta(seconds=10), timedelta(seconds=20), timedelta(seconds=40),
        timedelta(seconds=80), None,
    ]  # fmt: skip


def test_the_webhook_signature_is_hmac_sha256_over_timestamp_dot_body() -> None:
    body = b'{"alarm": 1}'
    mac = hmac.new(b"secret-key-0123456", b"1700000000." + body, hashlib.sha256).hexdigest()
    assert webhook_signature("secret-key-0123456", "1700000000", body) == f"sha256={mac}"
    assert webhook_signature("secret-key-0123456", "1700000001", body) != f"sha256={mac}"


def test_a_masked_url_shows_the_scheme_and_a_real_host_only() -> None:
    assert mask_url("mailto://duty:pw@smtp.example.cn:25?to=a@b.cn") == "mailto://smtp.example.cn"
    assert mask_url("https://hooks.example.cn/x/TOKEN?sig=1") == "https://hooks.example.cn"
    assert mask_url("dingtalk://abcdef0123456789/") == "dingtalk://***"  # a token, not a host
    assert mask_url("wecombot://botkey123") == "wecombot://***"


def test_redaction_takes_out_the_url_and_its_parts() -> None:
    url = "mailto://duty:TopSecretPw@smtp.example.cn?to=a@b.cn&from=c@d.cn"
    text = f"failed for {url}: auth TopSecretPw refused (user duty, to=a@b.cn&from=c@d.cn)"
    out = redact(text, url, "hmac-secret-value")
    assert "TopSecretPw" not in out and "to=a@b.cn&from=c@d.cn" not in out
    assert redact("x" * 2000) == "x" * 500
