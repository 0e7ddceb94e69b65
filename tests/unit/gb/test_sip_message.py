"""The SIP message layer: what a peer may send, and what we refuse with which status."""

from __future__ import annotations

import pytest

from custos.adapters.sip import digest
from custos.adapters.sip.message import (
    SipParseError,
    frame_length,
    header_param,
    parse,
    response_to,
    uri_user,
)

DEV = "34020000001320000001"
REGISTER = (
    f"REGISTER sip:34020000002000000001@3402000000 SIP/2.0\r\n"
    "Via: SIP/2.0/UDP 127.0.0.1:5061;rport;branch=z9hG4bK1\r\n"
    f"From: <sip:{DEV}@3402000000>;tag=a1\r\n"
    f"To: <sip:{DEV}@3402000000>\r\n"
    "Call-ID: c1@127.0.0.1\r\n"
    "CSeq: 1 REGISTER\r\n"
    "Expires: 3600\r\n"
    "Content-Length: 0\r\n\r\n"
).encode()


def test_a_register_round_trips() -> None:
    msg = parse(REGISTER)
    assert msg.method == "REGISTER"
    assert msg.cseq == (1, "REGISTER")
    assert uri_user(msg.get("From") or "") == DEV
    assert header_param(msg.get("Via") or "", "branch") == "z9hG4bK1"
    again = parse(msg.to_bytes())
    assert again.headers == msg.headers


def test_compact_header_names_are_expanded() -> None:
    raw = REGISTER.replace(b"Via:", b"v:").replace(b"Call-ID:", b"i:").replace(b"From:", b"f:")
    msg = parse(raw.replace(b"To:", b"t:").replace(b"Content-Length:", b"l:"))
    assert (
        msg.get(
            "Via",
        )
        is not None
        and msg.call_id == "c1@127.0.0.1"
    )
    assert uri_user(msg.get("To") or "") == DEV


def test_folded_headers_are_unfolded() -> None:
    raw = REGISTER.replace(b"Expires: 3600", b"Subject: a,\r\n  b\r\n\tc\r\nExpires: 3600")
    assert parse(raw).get("Subject") == "a, b c"


def test_a_truncated_message_is_refused_with_400() -> None:
    with pytest.raises(SipParseError) as e:
        parse(REGISTER[:80])
    assert e.value.status == 400


def test_a_body_shorter_than_content_length_is_refused() -> None:
    raw = REGISTER.replace(b"Content-Length: 0", b"Content-Length: 50") + b"<short/>"
    with pytest.raises(SipParseError, match="truncated"):
        parse(raw)


@pytest.mark.parametrize("value", [b"abc", b"-1", b"9999999999999"])
def test_a_bad_content_length_is_refused(value: bytes) -> None:
    with pytest.raises(SipParseError, match="Content-Length"):
        parse(REGISTER.replace(b"Content-Length: 0", b"Content-Length: " + value))


def test_an_oversized_message_is_refused_with_513() -> None:
    with pytest.raises(SipParseError) as e:
        parse(REGISTER + b"x" * 70_000)
    assert e.value.status == 513


def test_a_message_without_call_id_is_refused() -> None:
    with pytest.raises(SipParseError, match="Call-ID"):
        parse(REGISTER.replace(b"Call-ID: c1@127.0.0.1\r\n", b""))


def test_garbage_is_refused() -> None:
    with pytest.raises(SipParseError):
        parse(b"\x00\xff hello\r\n\r\n")


def test_tcp_framing_by_content_length() -> None:
    body = b"<Notify/>"
    one = REGISTER.replace(b"Content-Length: 0", b"Content-Length: 9") + body
    stream = one + one[:30]
    assert frame_length(stream) == len(one)
    assert frame_length(one[:-2]) is None
    with pytest.raises(SipParseError) as e:
        frame_length(one, limit=100)
    assert e.value.status == 513
    with pytest.raises(SipParseError, match="missing"):
        frame_length(REGISTER.replace(b"Content-Length: 0\r\n", b""))


def test_a_response_copies_the_transaction_headers_and_tags_to() -> None:
    resp = response_to(parse(REGISTER), 401)
    text = resp.to_bytes().decode()
    assert text.startswith("SIP/2.0 401 Unauthorized\r\n")
    assert "branch=z9hG4bK1" in text and "CSeq: 1 REGISTER" in text
    assert header_param(resp.get("To") or "", "tag")


def test_digest_with_and_without_qop_verifies_and_refuses_a_wrong_password() -> None:
    for qop in (False, True):
        ch = digest.challenge("3402000000", "n0nce", qop=qop)
        auth = digest.authorization(
            ch, method="REGISTER", uri="sip:x@y", username=DEV, password="pw"
        )
        params = digest.parse_digest(auth)
        assert ("qop" in params) is qop
        assert digest.verify(params, "REGISTER", "pw")
        assert not digest.verify(params, "REGISTER", "wrong")
        assert not digest.verify(params, "INVITE", "pw")


def test_digest_matches_rfc_2617_example() -> None:
    # RFC 2617 §3.5
    got = digest.response(
        username="Mufasa",
        realm="testrealm@host.com",
        password="Circle Of Life",
        method="GET",
        uri="/dir/index.html",
        nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093",
        qop="auth",
        nc="00000001",
        cnonce="0a4f113b",
    )
    assert got == "6629fae49393a05397450978507c4ef1"


def test_a_malformed_authorization_is_empty() -> None:
    assert digest.parse_digest("Basic abc") == {}
    assert digest.parse_digest('Digest username="unterminated') == {}
    assert not digest.verify({"username": DEV}, "REGISTER", "pw")
