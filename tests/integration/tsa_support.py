"""A time-stamp authority we did not write, for the tests: OpenSSL's (``openssl ts -reply``), with
a CA and a TSA certificate made here by ``openssl req``/``x509``, served over HTTP on loopback
by a tiny server that pipes each request through ``openssl ts -reply``. Test-only."""

from __future__ import annotations

import shutil
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

TSA_EXTENSIONS = """
[ tsa_ext ]
basicConstraints = critical, CA:false
keyUsage = critical, digitalSignature
extendedKeyUsage = critical, timeStamping
"""


def openssl() -> str:
    """The openssl binary; the test fails (never skips) without it."""
    found = shutil.which("openssl")
    if found is None:
        pytest.fail("openssl is needed for the time-stamp tests (apt-get install openssl)")
    return found


def run(*args: str, cwd: Path, stdin: bytes | None = None) -> bytes:
    done = subprocess.run(
        [openssl(), *args], cwd=cwd, input=stdin, capture_output=True, timeout=30, check=False
    )
    if done.returncode != 0:
        raise AssertionError(f"openssl {' '.join(args)} failed: {done.stderr.decode()}")
    return done.stdout


def make_ca(directory: Path, name: str) -> Path:
    """A self-signed CA certificate (and key) in ``directory``; the certificate's path."""
    directory.mkdir(parents=True, exist_ok=True)
    run(
        "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
        "-keyout", "ca.key", "-out", "ca.pem", "-days", "3650", "-subj", f"/CN={name}",
        cwd=directory,
    )  # fmt: skip
    return directory / "ca.pem"


def make_tsa(directory: Path) -> Path:
    """A CA, a TSA certificate it signed (time-stamping usage, critical) and OpenSSL's
    ``tsa.cnf``; the path of the config."""
    make_ca(directory, "Custos test TSA CA")
    (directory / "ext.cnf").write_text(TSA_EXTENSIONS)
    run(
        "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
        "-keyout", "tsa.key", "-out", "tsa.csr", "-subj", "/CN=Custos test TSA",
        cwd=directory,
    )  # fmt: skip
    run(
        "x509", "-req", "-in", "tsa.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
        "-CAcreateserial", "-out", "tsa.pem", "-days", "3650",
        "-extfile", "ext.cnf", "-extensions", "tsa_ext",
        cwd=directory,
    )  # fmt: skip
    (directory / "serial").write_text("01\n")
    config = directory / "tsa.cnf"
    config.write_text(
        f"""[ tsa ]
default_tsa = tsa_config
[ tsa_config ]
serial = {directory / "serial"}
signer_cert = {directory / "tsa.pem"}
signer_key = {directory / "tsa.key"}
certs = {directory / "tsa.pem"}
signer_digest = sha256
default_policy = 1.2.3.4.1
other_policies = 1.2.3.4.2
digests = sha256, sha384, sha512
accuracy = secs:1
ordering = no
tsa_name = yes
ess_cert_id_chain = no
ess_cert_id_alg = sha256
crypto_device = builtin
"""
    )
    return config


@dataclass
class OpenSslTsa:
    """The TSA's state: its URL, its CA certificate, and switches the tests turn."""

    url: str
    ca: Path
    config: Path
    down: bool = False  # answer 503, as a TSA under maintenance
    requests: int = 0
    authorizations: list[str | None] = field(default_factory=list)

    def stamp(self, query: bytes) -> bytes:
        """``openssl ts -reply`` for one DER query."""
        work = self.config.parent
        (work / "query.tsq").write_bytes(query)
        run(
            "ts", "-reply", "-config", str(self.config), "-queryfile", "query.tsq",
            "-out", "reply.tsr",
            cwd=work,
        )  # fmt: skip
        return (work / "reply.tsr").read_bytes()


@contextmanager
def openssl_tsa(directory: Path) -> Iterator[OpenSslTsa]:
    """OpenSSL's TSA on ``http://127.0.0.1:<port>/tsa`` for as long as the block runs."""
    config = make_tsa(directory)
    lock = threading.Lock()  # one reply at a time: they share the serial file

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            with lock:
                tsa.requests += 1
                tsa.authorizations.append(self.headers.get("Authorization"))
                if tsa.down:
                    self.send_error(503, "down for maintenance")
                    return
                reply = tsa.stamp(body)
            self.send_response(200)
            self.send_header("Content-Type", "application/timestamp-reply")
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    tsa = OpenSslTsa(
        f"http://127.0.0.1:{server.server_address[1]}/tsa", directory / "ca.pem", config
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield tsa
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
