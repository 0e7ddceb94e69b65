"""An RFC 3161 time-stamp authority as a witness of the operation log's checkpoints
(docs/design/evidence.md, "A time-stamp authority as a witness").

Each checkpoint's witness line is stamped (message imprint: its SHA-256) and kept with the token
in a store of its own, ``<witness dir>/time-stamps/``: ``<size>.json`` (the line) and
``<size>.tsr`` (the TSA's answer, DER). Read back, every token is checked against its line, the
TSA's CA and the checkpoint's own time. The ASN.1 and CMS work is ``rfc3161-client``'s.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx
from cryptography import x509
from rfc3161_client import (
    HashAlgorithm,
    TimestampRequestBuilder,
    TimeStampResponse,
    VerificationError,
    Verifier,
    VerifierBuilder,
    decode_timestamp_response,
)

from custos.domain.audit_chain import Checkpoint, canonical_time
from custos.domain.audit_witness import (
    MalformedWitnessError,
    Refused,
    Witnessed,
    parse_witness_line,
    witness_line,
)
from custos.services.audit_witness import WitnessUnavailableError

log = logging.getLogger(__name__)

STORE_DIR = "time-stamps"  # inside the witness directory
TIMEOUT = httpx.Timeout(10.0, connect=5.0)
MAX_TOKEN = 64 * 1024  # bytes: a token with its certificates is a few KiB
DEFAULT_TOLERANCE = timedelta(seconds=300)
_GRANTED = (0, 1)  # PKIStatus granted, grantedWithMods


class TokenRejectedError(ValueError):
    """A time-stamp token that does not prove what it should; the message says why."""


def tsa_certificates(path: Path) -> Verifier:
    """A verifier trusting the CA certificates in the PEM file ``path`` (self-signed ones are the
    roots, the others intermediates); ValueError naming the file when it holds none."""
    try:
        certs = x509.load_pem_x509_certificates(path.read_bytes())
    except OSError as exc:
        raise ValueError(f"cannot read {path}: {exc.strerror or exc}") from None
    except ValueError:
        raise ValueError(f"{path} holds no PEM certificate") from None
    builder = VerifierBuilder()
    roots = 0
    for cert in certs:
        if cert.issuer == cert.subject:
            builder = builder.add_root_certificate(cert)
            roots += 1
        else:
            builder = builder.add_intermediate_certificate(cert)
    if not roots:
        raise ValueError(f"{path} holds no self-signed (root) CA certificate")
    return builder.build()


def check_token(
    line: bytes,
    token: bytes,
    signed_at: datetime,
    verifier: Verifier | None,
    tolerance: timedelta = DEFAULT_TOLERANCE,
) -> datetime:
    """The genTime of ``token`` when it stamps exactly ``line`` (SHA-256), is signed by a TSA
    the verifier trusts (None: the signature is not checked) and is not earlier than
    ``signed_at - tolerance``; :class:`TokenRejectedError` naming the first thing wrong."""
    answer = _decoded(token)
    info = answer.tst_info
    imprint = info.message_imprint
    if imprint.hash_algorithm.dotted_string != "2.16.840.1.101.3.4.2.1":
        raise TokenRejectedError("its message imprint is not SHA-256")
    if imprint.message != hashlib.sha256(line).digest():
        raise TokenRejectedError(
            f"it stamps another message (imprint {imprint.message.hex()[:16]}…, not the "
            "SHA-256 of this checkpoint's line)"
        )
    if verifier is not None:
        try:
            verifier.verify(answer, imprint.message)
        except (VerificationError, ValueError) as exc:
            raise TokenRejectedError(
                f"its signature does not verify under the TSA CA ({_library_says(exc)})"
            ) from None
    stamped = info.gen_time
    if stamped < signed_at - tolerance:
        raise TokenRejectedError(
            f"genTime {canonical_time(stamped)} is before the checkpoint was signed "
            f"({canonical_time(signed_at)}, tolerance {tolerance.total_seconds():g} s)"
        )
    return stamped


def _library_says(exc: Exception) -> str:
    """The gist of a verification error: OpenSSL's reasons, not its whole error stack."""
    reasons = re.findall(r'reason: "([^"]+)"', str(exc))
    text = "; ".join(dict.fromkeys(reasons)) if reasons else str(exc)
    return text if len(text) <= 160 else text[:159] + "…"


def _decoded(token: bytes) -> TimeStampResponse:
    if len(token) > MAX_TOKEN:
        raise TokenRejectedError(f"longer than {MAX_TOKEN} bytes")
    try:
        answer = decode_timestamp_response(token)
    except ValueError as exc:
        raise TokenRejectedError(f"not a time-stamp response ({exc})") from None
    if answer.status not in _GRANTED:
        said = "; ".join(answer.status_string) or "no reason given"
        raise TokenRejectedError(f"the TSA refused to stamp (status {answer.status}: {said})")
    return answer


class TimeStampAuthority:
    """Asks the TSA at ``url`` to stamp messages (RFC 3161 over HTTP)."""

    def __init__(self, url: str, transport: httpx.BaseTransport | None = None) -> None:
        parts = urlsplit(url.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("must be an http:// or https:// URL with a host")
        host = parts.hostname + (f":{parts.port}" if parts.port else "")
        self.url = urlunsplit((parts.scheme, host, parts.path or "/", parts.query, ""))
        self._auth = (parts.username or "", parts.password or "") if parts.username else None
        self._transport = transport  # tests only

    def __repr__(self) -> str:
        return f"TimeStampAuthority({self.url!r})"  # the credentials cut out

    def stamp(self, message: bytes) -> bytes:
        """The TSA's answer (DER) for ``message``, checked to stamp it with the nonce asked;
        WitnessUnavailableError when there is no such answer."""
        request = (
            TimestampRequestBuilder().data(message).hash_algorithm(HashAlgorithm.SHA256).build()
        )
        headers = {"Content-Type": "application/timestamp-query"}
        try:
            with httpx.Client(timeout=TIMEOUT, auth=self._auth, transport=self._transport) as http:
                r = http.post(self.url, content=request.as_bytes(), headers=headers)
        except httpx.HTTPError as exc:
            raise WitnessUnavailableError(
                f"cannot reach tsa {self.url}: {type(exc).__name__}"
            ) from None
        if r.status_code != 200:
            raise WitnessUnavailableError(
                f"tsa {self.url} answered HTTP {r.status_code}: {r.reason_phrase}"
            )
        try:
            answer = _decoded(r.content)
        except TokenRejectedError as exc:
            raise WitnessUnavailableError(f"tsa {self.url}: {exc}") from None
        if answer.tst_info.nonce != request.nonce:
            raise WitnessUnavailableError(f"tsa {self.url} answered with another nonce")
        return r.content


class TimeStampWitness:
    """Stamps each checkpoint it is given and keeps line and token in ``directory``."""

    def __init__(
        self,
        tsa: TimeStampAuthority,
        directory: Path,
        cert: Path | None = None,
        tolerance: timedelta = DEFAULT_TOLERANCE,
    ) -> None:
        self._tsa = tsa
        self.directory = directory
        self._cert = cert  # read at each stamp: a bad file fails the pass, never the server
        self._tolerance = tolerance

    @property
    def name(self) -> str:
        return f"tsa {self._tsa.url}"

    def witnessed_size(self) -> int:
        try:
            names = os.listdir(self.directory)
        except FileNotFoundError:
            return 0
        except OSError as exc:
            raise WitnessUnavailableError(f"cannot read {self.directory}: {exc}") from exc
        return max((_size(n) for n in names if n.endswith(".tsr")), default=0)

    def witness(self, cp: Checkpoint) -> None:
        line = witness_line(cp)
        stem = self.directory / f"{cp.tree_size:020d}"
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            held = _read_if_there(stem.with_suffix(".json"))
        except OSError as exc:
            raise WitnessUnavailableError(f"cannot use {self.directory}: {exc}") from exc
        if held is not None and held != line:
            log.error(
                "%s: %s holds another checkpoint %d (the log was restored or rolled back); "
                "kept as it is, run 'custos audit verify --witness %s'",
                self.name,
                stem.with_suffix(".json"),
                cp.tree_size,
                self.directory,
            )
            return
        verifier = None
        if self._cert is not None:
            try:
                verifier = tsa_certificates(self._cert)
            except ValueError as exc:
                raise WitnessUnavailableError(
                    f"{self.name}: CUSTOS_AUDIT_TSA_CERT: {exc}"
                ) from None
        token = self._tsa.stamp(line)
        if verifier is not None:
            try:
                check_token(line, token, cp.signed_at, verifier, self._tolerance)
            except TokenRejectedError as exc:
                raise WitnessUnavailableError(
                    f"{self.name}: token for checkpoint {cp.tree_size} refused: {exc}"
                ) from None
        try:
            if held is None:
                _create(stem.with_suffix(".json"), line)
            _create(stem.with_suffix(".tsr"), token)
            _fsync_dir(self.directory)
        except FileExistsError:
            return  # another process (a CLI command's own pass) stamped it first: kept as it is
        except OSError as exc:
            raise WitnessUnavailableError(f"cannot write to {self.directory}: {exc}") from exc


def _size(name: str) -> int:
    stem = name.split(".", 1)[0]
    return int(stem) if stem.isdigit() else 0


def _read_if_there(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None


def _create(path: Path, data: bytes) -> None:
    """Write a new file in one ``write`` and fsync it; never over an existing one."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        if os.write(fd, data) != len(data):
            raise OSError(f"short write to {path}")
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@dataclass(frozen=True)
class Stamped:
    """A checkpoint whose token held: it existed no later than ``gen_time``."""

    tree_size: int
    gen_time: datetime
    source: str


class TimeStampFiles:
    """Stamped checkpoints read back from time-stamp stores, each token checked."""

    def __init__(
        self,
        directories: list[Path],
        verifier: Verifier,
        tolerance: timedelta = DEFAULT_TOLERANCE,
    ) -> None:
        self._directories = list(directories)
        self._verifier = verifier
        self._tolerance = tolerance
        self.stamped: list[Stamped] = []  # filled by read()

    def read(self) -> tuple[list[Witnessed], list[Refused]]:
        found: list[Witnessed] = []
        refused: list[Refused] = []
        for directory in self._directories:
            try:
                tokens = sorted(directory.glob("*.tsr"))
            except OSError as exc:
                raise WitnessUnavailableError(f"{directory}: cannot be read ({exc})") from exc
            if not tokens:
                raise WitnessUnavailableError(f"{directory}: no time-stamp tokens (*.tsr) in it")
            for tsr in tokens:
                self._take(tsr, found, refused)
        return found, refused

    def _take(self, tsr: Path, found: list[Witnessed], refused: list[Refused]) -> None:
        line_file = tsr.with_suffix(".json")
        try:
            line, token = line_file.read_bytes(), tsr.read_bytes()
        except OSError as exc:
            refused.append(Refused(str(tsr), f"cannot be read with its checkpoint ({exc})"))
            return
        try:
            cp = parse_witness_line(line.rstrip(b"\r\n"))
        except MalformedWitnessError as exc:
            refused.append(Refused(str(line_file), f"not a checkpoint: {exc}"))
            return
        found.append(Witnessed(cp, str(line_file)))
        try:
            stamped = check_token(line, token, cp.signed_at, self._verifier, self._tolerance)
        except TokenRejectedError as exc:
            reason = f"checkpoint {cp.tree_size}: time-stamp token refused: {exc}"
            refused.append(Refused(str(tsr), reason))
            return
        self.stamped.append(Stamped(cp.tree_size, stamped, str(tsr)))

    def note(self) -> str | None:
        """What the good tokens prove, for the report (None: none held)."""
        if not self.stamped:
            return None
        newest = max(self.stamped, key=lambda s: s.tree_size)
        n = len(self.stamped)
        return (
            f"time-stamped: {n} checkpoint{'' if n == 1 else 's'} with a sound token; "
            f"checkpoint {newest.tree_size} existed by {canonical_time(newest.gen_time)} "
            f"(the TSA's genTime, {newest.source})"
        )


def holds_time_stamps(path: Path) -> bool:
    """True when ``path`` is a directory with time-stamp tokens in it (a store to check)."""
    return path.is_dir() and any(path.glob("*.tsr"))
