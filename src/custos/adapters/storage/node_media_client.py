"""A client of a recorder node's media server (``custos.recorder.node_media``): requests signed
with the cluster secret (``custos.domain.node_requests``), over the cluster's private network.
Implements :class:`~custos.services.cluster_media.NodeMediaFetcher`."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncGenerator
from pathlib import Path

import httpx

from custos.domain.clock import Clock
from custos.domain.node_requests import signed_headers, split_address

PREFIX = "/node/v1"
TRIES = 3  # a segment transfer that breaks is resumed from where it broke, this many times
LIVE_READ_TIMEOUT_S = 10.0  # a node sends at least a heartbeat every 2 s
_CHUNK = 1 << 20


class NodeMediaClient:
    def __init__(self, secret: bytes, clock: Clock, timeout_s: float = 10.0) -> None:
        if not secret:
            raise ValueError("a node media client needs the cluster secret")
        self._secret = secret
        self._clock = clock
        self._timeout_s = timeout_s

    def fetch_segment(self, address: str, path: str, dest: Path, size: int) -> None:
        """Write the node's sealed file at index ``path`` (``size`` bytes by the index) to
        ``dest``, resuming with ``Range`` after a broken transfer; FileNotFoundError when the
        node has no such file, OSError when it cannot be reached, refuses, or sends more."""
        url = _url(address, f"{PREFIX}/segments/{path}")
        dest.parent.mkdir(parents=True, exist_ok=True)
        have, last = 0, ""
        with dest.open("wb") as out, httpx.Client(timeout=self._timeout_s) as client:
            for _ in range(TRIES):
                request = client.build_request(
                    "GET", url, headers={"Range": f"bytes={have}-"} if have else None
                )
                self._sign(request)
                try:
                    with contextlib.closing(client.send(request, stream=True)) as r:
                        _check(r, address)
                        if r.status_code == 200 and have:  # the range was not honoured
                            out.seek(0)
                            out.truncate()
                            have = 0
                        for block in r.iter_raw(_CHUNK):
                            if have + len(block) > size:
                                raise OSError(f"node at {address} sent more than {size} bytes")
                            out.write(block)
                            have += len(block)
                except httpx.TransportError as exc:
                    last = f"{type(exc).__name__}: {exc}"
                    continue
                if have == size:
                    return
                last = f"the answer ended at {have} of {size} bytes"
        raise OSError(f"node at {address}: {path} not fetched after {TRIES} tries ({last})")

    async def live(self, address: str, camera_id: int) -> AsyncGenerator[bytes, None]:
        """The node's live tail of the camera, chunk by chunk; OSError when it breaks."""
        timeout = httpx.Timeout(self._timeout_s, read=LIVE_READ_TIMEOUT_S)
        try:
            async with httpx.AsyncClient(timeout=timeout) as client:
                request = client.build_request("GET", _url(address, f"{PREFIX}/live/{camera_id}"))
                self._sign(request)
                r = await client.send(request, stream=True)
                try:
                    _check(r, address)
                    async for chunk in r.aiter_raw():
                        yield chunk
                finally:
                    await r.aclose()
        except httpx.HTTPError as exc:
            raise OSError(f"live tail from node at {address}: {type(exc).__name__}") from exc

    def _sign(self, request: httpx.Request) -> None:
        path = request.url.raw_path.decode("ascii")
        now = self._clock.now().timestamp()
        request.headers.update(signed_headers(self._secret, request.method, path, now))


def _check(r: httpx.Response, address: str) -> None:
    if r.status_code == 404:
        raise FileNotFoundError(f"node at {address} has no such file")
    if r.status_code in (401, 403):
        raise PermissionError(
            f"node at {address} refused the request ({r.status_code}): the same "
            "CUSTOS_CLUSTER_SECRET on every server, and clocks within 30 s?"
        )
    if r.status_code not in (200, 206):
        raise OSError(f"node at {address} answered {r.status_code}")


def _url(address: str, path: str) -> str:
    try:
        host, port = split_address(address)
    except ValueError as exc:
        raise OSError(str(exc)) from None
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}{path}"
