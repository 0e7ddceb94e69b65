"""HTTP digest for SIP (RFC 2617 MD5, with `qop=auth` and without): both sides.

Server: `challenge(realm, nonce)` builds WWW-Authenticate; `parse_digest(header)` reads an
Authorization; `verify(params, method, password)` checks its response in constant time.
Client: `authorization(challenge_header, method, uri, username, password)` answers a 401.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets


def md5_hex(text: str) -> str:
    return hashlib.md5(text.encode("utf-8"), usedforsecurity=False).hexdigest()


def response(
    *,
    username: str,
    realm: str,
    password: str,
    method: str,
    uri: str,
    nonce: str,
    qop: str | None = None,
    nc: str | None = None,
    cnonce: str | None = None,
) -> str:
    ha1 = md5_hex(f"{username}:{realm}:{password}")
    ha2 = md5_hex(f"{method}:{uri}")
    if qop:
        return md5_hex(f"{ha1}:{nonce}:{nc}:{cnonce}:{qop}:{ha2}")
    return md5_hex(f"{ha1}:{nonce}:{ha2}")


def parse_digest(header: str) -> dict[str, str]:
    """`Digest a="b", c=d` → {"a": "b", "c": "d"} (keys lower-case). Empty if not a digest."""
    text = header.strip()
    if text[:6].lower() != "digest":
        return {}
    text = text[6:]
    out: dict[str, str] = {}
    i = 0
    while i < len(text):
        while i < len(text) and text[i] in " ,\t":
            i += 1
        eq = text.find("=", i)
        if eq < 0:
            break
        key = text[i:eq].strip().lower()
        i = eq + 1
        if i < len(text) and text[i] == '"':
            close = text.find('"', i + 1)
            if close < 0:
                return {}
            out[key] = text[i + 1 : close]
            i = close + 1
        else:
            comma = text.find(",", i)
            comma = len(text) if comma < 0 else comma
            out[key] = text[i:comma].strip()
            i = comma
    return out


def challenge(realm: str, nonce: str, *, qop: bool = False, stale: bool = False) -> str:
    value = f'Digest realm="{realm}", nonce="{nonce}", algorithm=MD5'
    if qop:
        value += ', qop="auth"'
    if stale:
        value += ", stale=true"
    return value


def verify(params: dict[str, str], method: str, password: str) -> bool:
    """Whether an Authorization's response matches `password` (MD5 only)."""
    if params.get("algorithm", "MD5").upper() != "MD5":
        return False
    needed = ("username", "realm", "nonce", "uri", "response")
    if any(k not in params for k in needed):
        return False
    qop = params.get("qop")
    if qop is not None and (qop.lower() != "auth" or "nc" not in params or "cnonce" not in params):
        return False
    expected = response(
        username=params["username"],
        realm=params["realm"],
        password=password,
        method=method,
        uri=params["uri"],
        nonce=params["nonce"],
        qop=qop,
        nc=params.get("nc"),
        cnonce=params.get("cnonce"),
    )
    return hmac.compare_digest(expected, params["response"].lower())


def authorization(
    challenge_header: str, *, method: str, uri: str, username: str, password: str, nc: int = 1
) -> str:
    """The Authorization header answering a WWW-Authenticate challenge (client side)."""
    ch = parse_digest(challenge_header)
    realm, nonce = ch.get("realm", ""), ch.get("nonce", "")
    qops = [q.strip() for q in ch.get("qop", "").split(",") if q.strip()]
    value = f'Digest username="{username}", realm="{realm}", nonce="{nonce}", uri="{uri}"'
    if "auth" in qops:
        cnonce, ncs = secrets.token_hex(8), f"{nc:08x}"
        resp = response(
            username=username,
            realm=realm,
            password=password,
            method=method,
            uri=uri,
            nonce=nonce,
            qop="auth",
            nc=ncs,
            cnonce=cnonce,
        )
        value += f', response="{resp}", algorithm=MD5, qop=auth, nc={ncs}, cnonce="{cnonce}"'
    else:
        resp = response(
            username=username, realm=realm, password=password, method=method, uri=uri, nonce=nonce
        )
        value += f', response="{resp}", algorithm=MD5'
    if "opaque" in ch:
        value += f', opaque="{ch["opaque"]}"'
    return value
