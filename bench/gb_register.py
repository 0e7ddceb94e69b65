"""GB/T 28181 registration load: N devices simulated by SIPp register (digest), keep alive twice,
and answer the Catalog query, against the in-process SIP server on SQLite or PostgreSQL.
Not part of the test suite.

    .venv/bin/python -m bench.gb_register                         # SQLite, rates 25..800/s
    .venv/bin/python -m bench.gb_register --rates 50 100 --seconds 5 --postgres SCRATCH_URL

Each step runs `rate x seconds` new devices at SIPp's call rate `-r rate` over UDP; a step with a
failed call ends the ramp ("registrations per second until the first failure"). Printed per step:
calls ok/failed, the achieved rate, the CPU seconds this process (the SIP server and the
database client) spent per registration, and its peak resident memory.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

from tests.api.builders import credit_code
from tests.integration.gb.sipp_support import free_port, sipp

from custos.adapters.db.migrate import upgrade
from custos.adapters.sip.server import GbSipServer, SipListen
from custos.bootstrap import bootstrap
from custos.config import Settings
from custos.domain.access import Role
from custos.domain.gb_device import gb_date
from custos.domain.kinds import UnitKind
from custos.domain.manscdp_build import build_query
from custos.domain.users import Principal
from custos.services.gb_devices import DeviceInput
from custos.services.registry import UnitInput

ADMIN = Principal(1, "admin", Role.ADMIN, None)
DOMAIN, PLATFORM, PASSWORD = "3402000000", "34020000002000000001", "bench-pw"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rates", type=int, nargs="+", default=[25, 50, 100, 200, 400, 800])
    ap.add_argument("--seconds", type=int, default=5)
    ap.add_argument("--postgres", default=None, help="a scratch database URL (else SQLite)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp_:
        tmp = Path(tmp_)
        settings = Settings(data_dir=tmp / "data", database_url=args.postgres)
        upgrade(settings.resolved_database_url())
        c = bootstrap(settings)
        unit = c.registry.create_unit(
            ADMIN, UnitInput("Bench", credit_code(7), UnitKind.ENTERPRISE)
        )
        server = GbSipServer(c.gb_devices, SipListen("127.0.0.1", free_port(), tcp=False))
        c.gb_devices.on_registered.append(
            lambda d: server.send_message(d, build_query("Catalog", 1, d))
        )
        server.start()
        serial = 0
        try:
            for rate in args.rates:
                n = rate * args.seconds
                devices: list[tuple[str, ...]] = []
                for _ in range(n):
                    serial += 1
                    device = f"340200000011800{serial:05d}"
                    c.gb_devices.add(ADMIN, DeviceInput(device, unit.id or 0, device, PASSWORD))
                    auth = f"[authentication username={device} password={PASSWORD}]"
                    devices.append((device, auth, DOMAIN, PLATFORM, gb_date(c.clock.now())))
                cpu0 = resource.getrusage(resource.RUSAGE_SELF)
                t0 = time.monotonic()
                run = sipp("register_keepalive", server.port, devices, tmp, calls=n, rate=rate,
                           oocsf="catalog_answer", timeout_s=args.seconds * 6 + 30)  # fmt: skip
                wall = time.monotonic() - t0
                cpu1 = resource.getrusage(resource.RUSAGE_SELF)
                cpu = (cpu1.ru_utime + cpu1.ru_stime) - (cpu0.ru_utime + cpu0.ru_stime)
                print(
                    f"rate {rate:4d}/s  devices {n:5d}  ok {run.successful:5d}  "
                    f"failed {run.failed:4d}  achieved {run.successful / wall:6.1f} reg/s  "
                    f"cpu {1000 * cpu / max(n, 1):5.2f} ms/registration (+2 keepalives)  "
                    f"maxrss {cpu1.ru_maxrss / 1024:6.1f} MiB",
                    flush=True,
                )
                if run.failed != 0 or run.successful != n:
                    print("first failure at this rate; stopping")
                    break
        finally:
            server.stop()
            c.close()


if __name__ == "__main__":
    main()
