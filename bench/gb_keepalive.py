"""GB/T 28181 steady state: N devices (SIPp, UDP) register with digest, then each keeps alive
every INTERVAL seconds, K times, against the in-process SIP server (SQLite or PostgreSQL).
Not part of the test suite.

    .venv/bin/python -m bench.gb_keepalive                       # 1,000 devices, 60 s, 3 keepalives
    .venv/bin/python -m bench.gb_keepalive --devices 200 --interval 10 --keepalives 3

Printed: registration phase (wall, CPU of this process per device), then the steady phase (CPU
of this process as a share of one core, keepalives per second handled, devices online at the
end as the server sees them), and the peak resident memory. This process holds the SIP server
and the database client; a PostgreSQL server's own CPU is not counted.
"""

from __future__ import annotations

import argparse
import resource
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path

from tests.api.builders import credit_code
from tests.integration.gb.sipp_support import free_port

from custos.adapters.db.migrate import upgrade
from custos.adapters.sip.server import GbSipServer, SipListen
from custos.bootstrap import bootstrap
from custos.config import Settings
from custos.domain.access import Role
from custos.domain.gb_device import gb_date
from custos.domain.kinds import UnitKind
from custos.domain.users import Principal
from custos.services.gb_devices import DeviceInput
from custos.services.registry import UnitInput

ADMIN = Principal(1, "admin", Role.ADMIN, None)
DOMAIN, PLATFORM, PASSWORD = "3402000000", "34020000002000000001", "bench-pw"
SCENARIO = Path(__file__).parent / "sipp" / "register_hold.xml"


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--devices", type=int, default=1000)
    ap.add_argument("--interval", type=int, default=60, help="keepalive interval, seconds")
    ap.add_argument("--keepalives", type=int, default=3)
    ap.add_argument("--rate", type=int, default=25, help="new devices per second")
    ap.add_argument("--postgres", default=None, help="a scratch database URL (else SQLite)")
    args = ap.parse_args()
    sipp = shutil.which("sipp")
    if sipp is None:
        raise SystemExit("sipp is not installed (Debian package sip-tester)")
    with tempfile.TemporaryDirectory() as tmp_:
        tmp = Path(tmp_)
        settings = Settings(
            data_dir=tmp / "data",
            database_url=args.postgres,
            gb_keepalive_interval_s=args.interval,
        )
        upgrade(settings.resolved_database_url())
        c = bootstrap(settings)
        unit = c.registry.create_unit(
            ADMIN, UnitInput("Bench", credit_code(7), UnitKind.ENTERPRISE)
        )
        rows = []
        for serial in range(1, args.devices + 1):
            device = f"340200000011800{serial:05d}"
            c.gb_devices.add(ADMIN, DeviceInput(device, unit.id or 0, device, PASSWORD))
            auth = f"[authentication username={device} password={PASSWORD}]"
            rows.append(";".join((device, auth, DOMAIN, PLATFORM, gb_date(c.clock.now()))))
        inf = tmp / "devices.csv"
        inf.write_text("SEQUENTIAL\n" + "\n".join(rows) + "\n")
        scenario = tmp / "hold.xml"
        scenario.write_text(SCENARIO.read_text().replace("KEEPALIVES", str(args.keepalives)))
        server = GbSipServer(c.gb_devices, SipListen("127.0.0.1", free_port(), tcp=False))
        server.start()
        screen = tmp / "sipp.screen"
        cmd = [
            sipp, f"127.0.0.1:{server.port}", "-sf", str(scenario), "-inf", str(inf),
            "-m", str(args.devices), "-l", str(args.devices), "-r", str(args.rate),
            "-d", str(args.interval * 1000), "-t", "u1", "-i", "127.0.0.1",
            "-p", str(free_port()), "-nostdin", "-trace_screen", "-screen_file", str(screen),
            "-recv_timeout", "10000", "-timeout_error",
            "-timeout", f"{args.devices // args.rate + args.interval * (args.keepalives + 1) + 60}s",
        ]  # fmt: skip
        peak_online = [0]
        done = threading.Event()

        def watch() -> None:
            while not done.wait(10):  # a poll of every device costs CPU here too: seldom
                online = sum(1 for d in c.gb_devices.find(ADMIN) if d["state"] == "online")
                peak_online[0] = max(peak_online[0], online)

        watcher = threading.Thread(target=watch, daemon=True)
        try:
            cpu0, t0 = _cpu(), time.monotonic()
            proc = subprocess.Popen(cmd, cwd=tmp, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            ramp = args.devices / args.rate
            time.sleep(ramp + 2)
            cpu1, t1 = _cpu(), time.monotonic()
            print(
                f"registration: {args.devices} devices at {args.rate}/s offered, "
                f"{t1 - t0:.1f} s wall, cpu {1000 * (cpu1 - cpu0) / args.devices:.2f} ms/device",
                flush=True,
            )
            watcher.start()
            # steady phase: from the end of the ramp to the last keepalive round
            steady = args.interval * args.keepalives
            time.sleep(max(steady - 2, 1))
            cpu2, t2 = _cpu(), time.monotonic()
            kps = args.devices / args.interval
            print(
                f"steady: {t2 - t1:.0f} s, cpu {100 * (cpu2 - cpu1) / (t2 - t1):.2f} % of one core "
                f"at {kps:.1f} keepalives/s ({1000 * (cpu2 - cpu1) / max(kps * (t2 - t1), 1):.2f} "
                f"ms/keepalive), peak online {peak_online[0]}/{args.devices}, "
                f"maxrss {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB",
                flush=True,
            )
            proc.wait(timeout=args.interval + 120)
            text = screen.read_text(errors="replace") if screen.exists() else ""
            ok = _count(text, "Successful call")
            failed = _count(text, "Failed call")
            print(f"sipp: {ok} devices completed, {failed} failed (exit {proc.returncode})")
        finally:
            done.set()
            server.stop()
            c.close()


def _count(screen: str, label: str) -> int:
    import re

    found = re.findall(rf"{label}\s*\|\s*\d+\s*\|\s*(\d+)", screen)
    return int(found[-1]) if found else -1


if __name__ == "__main__":
    main()
