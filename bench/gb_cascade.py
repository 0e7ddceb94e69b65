"""GB/T 28181 cascade: Custos (the cascade client, on SQLite) registers with an upper platform
played by a small UDP peer in this process, which then asks for the Catalog of N shared cameras.
Not part of the test suite.

    .venv/bin/python -m bench.gb_cascade                 # N = 10, 100, 500
    .venv/bin/python -m bench.gb_cascade --cameras 1000

Printed per N: REGISTER with digest (first REGISTER received → 200 sent, peer's view), the
Catalog (query sent → last part received, every part acknowledged at once), the parts and the
items received, and the CPU seconds of this process per catalogue item.
"""

from __future__ import annotations

import argparse
import re
import resource
import socket
import tempfile
import threading
import time
from pathlib import Path

from tests.api.builders import address_code, credit_code

from custos.adapters.db.migrate import upgrade
from custos.adapters.sip.cascade_link import LocalIdentity, UdpUpperLink
from custos.adapters.sip.message import SipMessage, parse, response_to
from custos.bootstrap import bootstrap
from custos.config import Settings
from custos.domain.access import Role
from custos.domain.gb_cascade import Transport
from custos.domain.kinds import PublicPlaceArticle, UnitKind
from custos.domain.users import Principal
from custos.services.gb_cascade import PlatformInput
from custos.services.gb_cascade_client import CascadeClient
from custos.services.registry import CameraInput, SiteInput, UnitInput

ADMIN = Principal(1, "admin", Role.ADMIN, None)
CUSTOS, UPPER = "50010300002000000001", "50000000002005000001"


def cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def run(n: int) -> None:
    with tempfile.TemporaryDirectory() as tmp_:
        settings = Settings(data_dir=Path(tmp_) / "data")
        upgrade(settings.resolved_database_url())
        c = bootstrap(settings)
        unit = c.registry.create_unit(
            ADMIN, UnitInput("Bench", credit_code(8), UnitKind.ENTERPRISE)
        )
        site = c.registry.create_site(
            ADMIN,
            SiteInput(unit.id or 0, "Bench site", "500103", "渝中区某路1号", True,
                      PublicPlaceArticle.ART7_P2, categories=["shopping_mall"]),
        )  # fmt: skip
        peer = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        peer.bind(("127.0.0.1", 0))
        port = peer.getsockname()[1]
        data = PlatformInput("bench", UPPER, UPPER[:10], "127.0.0.1", port, Transport.UDP,
                             "bench-pw", 600, 300, True)  # fmt: skip
        pid = c.gb_cascade.create(ADMIN, data).platform.id or 0
        for i in range(1, n + 1):
            cam = c.registry.create_camera(
                ADMIN,
                CameraInput(site_id=site.id or 0, address_code=address_code("500103", i),
                            name=f"通道{i}", location_categories=["shopping_mall"]),
            )  # fmt: skip
            c.gb_cascade.share(ADMIN, pid, cam.id or 0)
        [platform] = c.gb_cascade.enabled_platforms()
        link = UdpUpperLink(platform, LocalIdentity(CUSTOS, CUSTOS[:10]), c.gb_cascade, "127.0.0.1")
        client = CascadeClient(platform, link, c.gb_cascade.record_state, c.clock, time.monotonic)
        stop = threading.Event()
        thread = threading.Thread(target=client.run, args=(stop,), daemon=True)
        cpu0 = cpu()
        thread.start()

        def recv() -> tuple[SipMessage, tuple[str, int]]:
            raw, addr = peer.recvfrom(65535)
            return parse(raw), addr

        first, addr = recv()
        t_reg = time.perf_counter()
        challenge = response_to(first, 401)
        challenge.add("WWW-Authenticate", 'Digest realm="5000000000", nonce="b3nch", algorithm=MD5')
        peer.sendto(challenge.to_bytes(), addr)
        second, addr = recv()
        assert second.get("Authorization")
        peer.sendto(response_to(second, 200).to_bytes(), addr)
        reg_ms = (time.perf_counter() - t_reg) * 1000
        query = SipMessage(method="MESSAGE", uri=f"sip:{CUSTOS}@{CUSTOS[:10]}")
        for h, v in (("Via", f"SIP/2.0/UDP 127.0.0.1:{port};branch=z9hG4bKq"),
                     ("From", f"<sip:{UPPER}@{UPPER[:10]}>;tag=q"), ("To", f"<sip:{CUSTOS}@x>"),
                     ("Call-ID", "bench-q"), ("CSeq", "1 MESSAGE"),
                     ("Content-Type", "Application/MANSCDP+xml")):  # fmt: skip
            query.add(h, v)
        query.body = (f'<?xml version="1.0" encoding="GB2312"?>\r\n<Query><CmdType>Catalog'
                      f"</CmdType><SN>1</SN><DeviceID>{CUSTOS}</DeviceID></Query>").encode()  # fmt: skip
        t_cat = time.perf_counter()
        peer.sendto(query.to_bytes(), addr)
        parts = items = 0
        total = -1
        while items != total:
            msg, addr = recv()
            if not msg.is_request:
                continue
            peer.sendto(response_to(msg, 200).to_bytes(), addr)
            body = msg.body.decode("gb18030", "replace")
            if "<CmdType>Catalog</CmdType>" in body:
                parts += 1
                items += body.count("<Item>")
                total = int(re.search(r"<SumNum>(\d+)</SumNum>", body).group(1))  # type: ignore[union-attr]
        cat_ms = (time.perf_counter() - t_cat) * 1000
        used = cpu() - cpu0
        stop.set()
        peer.close()
        thread.join(10)
        c.close()
        print(f"N={n:5d}  register+digest {reg_ms:6.1f} ms  catalog {cat_ms:8.1f} ms "
              f"({parts} parts, {items} items)  CPU {used * 1000 / max(n, 1):.2f} ms/item")  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cameras", type=int, nargs="+", default=[10, 100, 500])
    for n in ap.parse_args().cameras:
        run(n)


if __name__ == "__main__":
    main()
