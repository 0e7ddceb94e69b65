"""``custos onvif discover`` as a user runs it: a real process probing loopback, where ipycam
answers; the password from the environment, never in the output; expected failures are one
line and exit 2."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from custos.bootstrap import bootstrap, migrate, settings_from
from custos.domain.kinds import UnitKind
from custos.domain.registry import Contact
from custos.domain.users import SYSTEM
from custos.services.registry import UnitInput
from tests.api.builders import credit_code
from tests.integration.onvif_peer import PASSWORD, USERNAME, ipycam_peer


def _run(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = os.environ | {"CUSTOS_DATA_DIR": str(data_dir), "CUSTOS_ONVIF_PASSWORD": PASSWORD}
    env.pop("CUSTOS_DATABASE_URL", None)
    return subprocess.run([sys.executable, "-m", "custos", "onvif", *args], capture_output=True,
                          text=True, env=env, timeout=120)  # fmt: skip


@pytest.mark.slow  # three processes start, each loading Custos
def test_discover_proposes_the_camera_and_fails_in_one_line(tmp_path: Path) -> None:
    settings = settings_from(tmp_path)
    migrate(settings)
    c = bootstrap(settings)
    try:
        unit = c.registry.create_unit(
            SYSTEM,
            UnitInput(
                "东门商场",
                credit_code(7),
                UnitKind.ENTERPRISE,
                [Contact("张三", "+86 10 1234 5678")],
            ),
        )
    finally:
        c.close()
    with ipycam_peer() as peer:
        r = _run(tmp_path, "discover", "--unit", str(unit.id), "--interface", "lo",
                 "--username", USERNAME, "--timeout", "1.5", "--json")  # fmt: skip
        assert r.returncode == 0, r.stderr
        ours = [p for p in json.loads(r.stdout) if p["xaddr"] == peer.xaddr]
        assert len(ours) == 1 and ours[0]["model"] == "VirtualCam-1"
        assert ours[0]["probe_error"] == "" and ours[0]["status"] == "proposed"
        assert PASSWORD not in r.stdout + r.stderr
    listed = _run(tmp_path, "proposals")
    assert (
        listed.returncode == 0 and "VirtualCam-1" in listed.stdout and "[proposed]" in listed.stdout
    )
    bad = _run(tmp_path, "discover", "--unit", str(unit.id), "--address", "198.51.100.7")
    assert bad.returncode == 2
    assert "Traceback" not in bad.stderr
    assert bad.stderr.strip().splitlines()[-1] == (
        "error: address: 198.51.100.7 is not an address of this machine"
    )
