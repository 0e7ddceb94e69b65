"""GB/T 28181 steady state: N devices (SIPp, UDP) register with digest, then each keeps alive
every INTERVAL seconds, K times, against the in-process SIP server (SQLite or PostgreSQL).
Not part of the test suite.

    .venv/bin/python -m bench.gb_keepalive                       # 1,000 devices, 60 s, 4 keepalives
    .venv/bin/python -m bench.gb_keepalive --devices 200 --interval 10 --keepalives 6

Phases, one after the other in one run:

- **idle** (the baseline, ``--idle`` seconds): the SIP server up with its offline check, no device.
- **registration**: SIPp starts ``--rate`` devices a second; each REGISTERs (401, digest, 200).
- **steady**: from the last device's first keepalive to the first device's last one, every
  device keeps alive once an interval and nothing else happens: the figure the issue asks for.

Printed per phase: CPU of this process (the SIP server, the database client and the container
around them) and of the ``gb-sip`` thread alone, as a share of one core; keepalives handled per
second (counted at the service); resident memory now (VmRSS) and its growth over idle; the load
average. The steady phase is also given as a ratio to idle. With PostgreSQL on this machine,
the CPU of the server processes serving the bench's database is given beside (read from /proc).
At the end: devices online as the server sees them, and SIPp's completed/failed calls.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import resource
import shutil
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, text
from tests.api.builders import credit_code
from tests.integration.gb.sipp_support import free_port

from custos.adapters.db.migrate import upgrade
from custos.bootstrap import bootstrap, gb_sip_server
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
TICK = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Sample:
    at: float  # monotonic seconds
    cpu: float  # this process, seconds
    sip_cpu: float  # the gb-sip thread, seconds
    keepalives: int  # handled so far
    rss_mib: float  # VmRSS now
    backends: dict[int, float]  # PostgreSQL: this database's server processes, CPU seconds

    def since(self, before: Sample, label: str) -> tuple[float, float]:
        dt = self.at - before.at
        share = 100 * (self.cpu - before.cpu) / dt
        sip = 100 * (self.sip_cpu - before.sip_cpu) / dt
        kps = (self.keepalives - before.keepalives) / dt
        load = " ".join(f"{x:.2f}" for x in os.getloadavg())
        # a backend started meanwhile counts whole; one gone meanwhile is not seen
        db = sum(cpu - before.backends.get(pid, 0.0) for pid, cpu in self.backends.items())
        server = f"  postgres {100 * db / dt:5.2f} %" if self.backends else ""
        print(
            f"{label:<13} {dt:6.1f} s  process {share:5.2f} %  gb-sip {sip:5.2f} %{server} "
            f"of one core  {kps:6.1f} keepalives/s  rss {self.rss_mib:.0f} MiB  load {load}",
            flush=True,
        )
        return share, sip


def _cpu_of(stat: Path) -> float:
    fields = stat.read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime, stime (fields 14, 15)


def _thread_cpu(native_id: int) -> float:
    return _cpu_of(Path(f"/proc/self/task/{native_id}/stat"))


def _backends(engine: Engine) -> dict[int, float]:
    """CPU seconds of the PostgreSQL server processes serving this database, when the server
    runs on this machine (else nothing)."""
    if engine.dialect.name != "postgresql":
        return {}
    query = text("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")
    with engine.connect() as conn:
        pids = conn.execute(query).scalars().all()
    found = {}
    for pid in pids:
        with contextlib.suppress(OSError):
            found[int(pid)] = _cpu_of(Path(f"/proc/{pid}/stat"))
    return found


def _rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _sleep_until(at: float) -> None:
    time.sleep(max(at - time.monotonic(), 0))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--devices", type=int, default=1000)
    ap.add_argument("--interval", type=int, default=60, help="keepalive interval, seconds")
    ap.add_argument("--keepalives", type=int, default=4, help="per device")
    ap.add_argument("--rate", type=int, default=25, help="new devices per second")
    ap.add_argument("--idle", type=int, default=30, help="idle baseline, seconds")
    ap.add_argument("--postgres", default=None, help="a scratch database URL (else SQLite)")
    args = ap.parse_args()
    ramp = args.devices / args.rate
    # whole intervals from the last device's first keepalive, before the first device's last
    steady_from = ramp + args.interval + 2
    whole = int((args.keepalives * args.interval - 2 - steady_from) // args.interval)
    steady_to = steady_from + whole * args.interval
    if whole < 1:
        raise SystemExit(
            f"no steady window: the last device keeps alive first at {ramp + args.interval:.0f} s,"
            f" the first one last at {args.keepalives * args.interval} s: raise --keepalives"
        )
    sipp = shutil.which("sipp")
    if sipp is None:
        raise SystemExit("sipp is not installed (Debian package sip-tester)")
    with tempfile.TemporaryDirectory() as tmp_:
        tmp = Path(tmp_)
        settings = Settings(
            data_dir=tmp / "data",
            database_url=args.postgres,
            gb_keepalive_interval_s=args.interval,
            gb_sip_host="127.0.0.1",
            gb_sip_port=free_port(),
            gb_sip_transports="udp",
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

        handled = [0]
        keepalive = c.gb_devices.keepalive

        def counted(device_id: str, address: str) -> bool:
            handled[0] += 1  # only the gb-sip thread calls it
            return keepalive(device_id, address)

        c.gb_devices.keepalive = counted  # type: ignore[method-assign]
        # as `custos serve` wires it (its offline check every interval/4, at most 5 s), less
        # the queries on registering, which these SIPp devices do not answer
        server = gb_sip_server(settings, c)
        c.gb_devices.on_registered.remove(c.gb_queries.on_registered)
        server.start()
        sip_thread = next(t for t in threading.enumerate() if t.name == "gb-sip")
        sip_id = sip_thread.native_id or 0

        def sample() -> Sample:
            r = resource.getrusage(resource.RUSAGE_SELF)
            return Sample(time.monotonic(), r.ru_utime + r.ru_stime, _thread_cpu(sip_id),
                          handled[0], _rss_mib(), _backends(c.engine))  # fmt: skip

        screen = tmp / "sipp.screen"
        cmd = [
            sipp, f"127.0.0.1:{server.port}", "-sf", str(scenario), "-inf", str(inf),
            "-m", str(args.devices), "-l", str(args.devices), "-r", str(args.rate),
            "-d", str(args.interval * 1000), "-t", "u1", "-i", "127.0.0.1",
            "-p", str(free_port()), "-nostdin", "-trace_screen", "-screen_file", str(screen),
            "-recv_timeout", "10000", "-timeout_error",
            "-timeout", f"{ramp + args.interval * (args.keepalives + 1) + 60:.0f}s",
        ]  # fmt: skip
        print(
            f"{args.devices} devices, {args.rate}/s offered, keepalive every {args.interval} s "
            f"x {args.keepalives}, {'PostgreSQL' if args.postgres else 'SQLite'}; "
            f"steady window {steady_from:.0f}..{steady_to:.0f} s after SIPp starts",
            flush=True,
        )
        try:
            idle0 = sample()
            time.sleep(args.idle)
            idle1 = sample()
            idle, idle_sip = idle1.since(idle0, "idle")
            t0 = time.monotonic()
            proc = subprocess.Popen(cmd, cwd=tmp, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            _sleep_until(t0 + ramp + 2)
            reg = sample()
            reg.since(idle1, "registration")
            print(f"{'':13} {1000 * (reg.cpu - idle1.cpu) / args.devices:.2f} ms of CPU a device")
            _sleep_until(t0 + steady_from)
            s0 = sample()
            _sleep_until(t0 + steady_to)
            s1 = sample()
            steady, steady_sip = s1.since(s0, "steady")
            per = 1000 * (s1.cpu - s0.cpu) / max(s1.keepalives - s0.keepalives, 1)
            grown = s1.rss_mib - idle1.rss_mib
            print(
                f"{'':13} {per:.2f} ms of process CPU a keepalive; steady / idle (process): "
                f"{steady / max(idle, 0.01):.1f}x, {steady - idle:.2f} % of a core above idle "
                f"(gb-sip {steady_sip - idle_sip:.2f} %); rss {grown:+.0f} MiB over idle "
                f"({1024 * grown / args.devices:.0f} KiB a device)",
                flush=True,
            )
            online = sum(1 for d in c.gb_devices.find(ADMIN) if d["state"] == "online")
            print(f"{'':13} online {online}/{args.devices}", flush=True)
            proc.wait(timeout=ramp + args.interval + 120)
            text = screen.read_text(errors="replace") if screen.exists() else ""
            ok = _count(text, "Successful call")
            failed = _count(text, "Failed call")
            print(f"sipp: {ok} devices completed, {failed} failed (exit {proc.returncode})")
            if failed:  # where they failed: SIPp's last table of messages, timeouts, unexpected
                table = text[text.rfind("Messages  Retrans") :].splitlines()
                print("\n".join(line for line in table[:24] if line.strip()))
        finally:
            server.stop()
            c.close()


def _count(screen: str, label: str) -> int:
    found = re.findall(rf"{label}\s*\|\s*\d+\s*\|\s*(\d+)", screen)
    return int(found[-1]) if found else -1


if __name__ == "__main__":
    main()
