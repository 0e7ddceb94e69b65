"""The supervising bureau's Custos as a witness of this system's checkpoints, over HTTP
(docs/design/evidence.md, "The bureau as a witness").

As a :class:`~custos.services.audit_witness.CheckpointWitness` it posts each checkpoint's
witness line to ``/api/v1/witness/checkpoints``; as a
:class:`~custos.services.audit_witness.WitnessSource` it reads back every copy the bureau holds
for the log's key. No credential is sent or needed (the checkpoint's signature is what the bureau
checks); TLS certificates are always verified.
"""

from __future__ import annotations

import json
import logging
import ssl
from pathlib import Path
from typing import Any

import httpx

from custos.domain.audit_chain import Checkpoint
from custos.domain.audit_witness import (
    MalformedWitnessError,
    Refused,
    Witnessed,
    parse_witness_line,
    witness_line,
)
from custos.domain.bureau_witness import PAGE_MAX, bureau_url_problem
from custos.services.audit_witness import WitnessUnavailableError

log = logging.getLogger(__name__)

CHECKPOINTS = "/api/v1/witness/checkpoints"
TIMEOUT = httpx.Timeout(10.0, connect=5.0)
_MESSAGE_MAX = 300  # characters of the bureau's error message quoted in ours


class BureauWitnessClient:
    """Hands checkpoints to the bureau at ``base_url`` and reads back those of ``key_id``."""

    def __init__(
        self,
        base_url: str,
        key_id: str,
        ca_file: Path | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        base = base_url.strip().rstrip("/")
        problem = bureau_url_problem(base)
        if problem is not None:
            raise ValueError(problem)
        self._base = base
        self._key_id = key_id
        self._verify: ssl.SSLContext | bool = True
        if ca_file is not None:
            try:
                self._verify = ssl.create_default_context(cafile=str(ca_file))
            except (OSError, ssl.SSLError) as exc:
                raise ValueError(f"cannot read the CA file {ca_file}: {exc}") from None
        self._transport = transport  # tests only

    @property
    def name(self) -> str:
        return f"bureau {self._base}"

    def _client(self) -> httpx.Client:
        return httpx.Client(
            base_url=self._base,
            timeout=TIMEOUT,
            verify=self._verify,
            follow_redirects=False,
            transport=self._transport,
        )

    def _get(self, http: httpx.Client, after: int, limit: int) -> dict[str, Any]:
        params: dict[str, str | int] = {"key_id": self._key_id, "after": after, "limit": limit}
        r = http.get(CHECKPOINTS, params=params)
        if r.status_code == 404:
            raise WitnessUnavailableError(
                f"{self.name} has not registered this system's log key {self._key_id}: ask "
                "the bureau to register it (POST /api/v1/witness/senders)"
            )
        if r.status_code != 200:
            raise WitnessUnavailableError(f"{self.name} answered {_said(r)}")
        try:
            body = r.json()
        except ValueError:
            raise WitnessUnavailableError(f"{self.name} answered something not JSON") from None
        if not isinstance(body, dict) or not isinstance(body.get("checkpoints"), list):
            raise WitnessUnavailableError(f"{self.name} answered no list of checkpoints")
        return body

    def witnessed_size(self) -> int:
        try:
            with self._client() as http:
                newest = self._get(http, 0, 1).get("newest_tree_size")
        except httpx.HTTPError as exc:
            raise WitnessUnavailableError(_unreachable(self.name, exc)) from None
        if not isinstance(newest, int) or isinstance(newest, bool) or newest < 0:
            raise WitnessUnavailableError(f"{self.name} answered no newest_tree_size")
        return newest

    def witness(self, cp: Checkpoint) -> None:
        headers = {"Content-Type": "application/json"}
        try:
            with self._client() as http:
                r = http.post(CHECKPOINTS, content=witness_line(cp), headers=headers)
        except httpx.HTTPError as exc:
            raise WitnessUnavailableError(_unreachable(self.name, exc)) from None
        if r.status_code in (200, 201):
            return
        if r.status_code == 409:
            # The bureau holds another checkpoint this one contradicts (the log was rolled back
            # or restored). It kept this copy too, and logged it; retrying changes nothing.
            log.error(
                "%s holds a checkpoint that checkpoint %d contradicts: %s; run 'custos audit "
                "verify --witness %s'",
                self.name,
                cp.tree_size,
                _said(r),
                self._base,
            )
            return
        raise WitnessUnavailableError(f"{self.name} refused checkpoint {cp.tree_size}: {_said(r)}")

    def read(self) -> tuple[list[Witnessed], list[Refused]]:
        found: list[Witnessed] = []
        refused: list[Refused] = []
        after = 0
        try:
            with self._client() as http:
                while True:
                    body = self._get(http, after, PAGE_MAX)
                    for item in body["checkpoints"]:
                        self._take(item, found, refused)
                    following = body.get("next_after")
                    if following is None:
                        break
                    if not isinstance(following, int) or following <= after:
                        raise WitnessUnavailableError(f"{self.name}: its paging does not advance")
                    after = following
        except httpx.HTTPError as exc:
            raise WitnessUnavailableError(_unreachable(self.name, exc)) from None
        return found, refused

    def _take(self, item: object, found: list[Witnessed], refused: list[Refused]) -> None:
        record = item.get("id") if isinstance(item, dict) else None
        where = f"{self.name} record {record}"
        try:
            if not isinstance(item, dict) or not isinstance(item.get("checkpoint"), dict):
                raise MalformedWitnessError("no checkpoint object")
            cp = parse_witness_line(json.dumps(item["checkpoint"]).encode())
        except MalformedWitnessError as exc:
            refused.append(Refused(where, f"not a checkpoint: {exc}"))
            return
        found.append(Witnessed(cp, where))


def _said(r: httpx.Response) -> str:
    """``HTTP 403: <the bureau's message>``, the message cut short."""
    try:
        message = r.json().get("message")
    except (ValueError, AttributeError):
        message = None
    text = str(message)[:_MESSAGE_MAX] if message else r.reason_phrase
    return f"HTTP {r.status_code}: {text}"


def _unreachable(name: str, exc: httpx.HTTPError) -> str:
    return f"cannot reach {name}: {type(exc).__name__}: {exc}"
