"""A small world for access tests: a unit with one camera in several jurisdictions, footage on
disk (a real MP4 made by ffmpeg), and people with the roles and titles the packs name."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from custos.adapters.storage.segment_files import SegmentStore
from custos.bootstrap import Container
from custos.domain.access import Role
from custos.domain.recording import Segment
from custos.domain.rules.terms import ApproverRole
from custos.domain.users import SYSTEM, UserProfile
from tests.api.builders import API, PASSWORD, camera_body, make_site, make_unit

# Division codes: a district of each jurisdiction the packs cover.
XIAN = "610113"  # 西安市雁塔区 (Xi'an → Shaanxi → national)
TONGCHUAN = "610202"  # 铜川市王益区 (Shaanxi → national)
SHENYANG = "210102"  # 沈阳市和平区 (Liaoning → national)
BEIJING = "110105"  # 北京市朝阳区 (Beijing → national)
CHONGQING = "500103"  # 重庆市渝中区 (Chongqing → national)
DIVISIONS = (XIAN, TONGCHUAN, SHENYANG, BEIJING, CHONGQING)
SEGMENT_S = 10
#: The papers each jurisdiction's packs want from every handler (all of them: Beijing art. 17(2)
#: work ID and certifying document; Xi'an art. 27 ¶2(2) and Shaanxi art. 18(2) both bind in Xi'an).
CREDENTIAL: dict[str, tuple[str, ...]] = {
    XIAN: ("law_enforcement_id", "work_id", "unit_certifying_document"),
    TONGCHUAN: ("law_enforcement_id",),
    SHENYANG: ("law_enforcement_id",),
    BEIJING: ("work_id", "certifying_document"),
    CHONGQING: ("work_id", "unit_certifying_document"),
}


def make_clip(path: Path) -> Path:
    """Ten seconds of H.264 in fragmented MP4, a keyframe every second."""
    if shutil.which("ffmpeg") is None:
        raise RuntimeError("ffmpeg is missing: run scripts/setup")
    subprocess.run(
        [
            "ffmpeg", "-nostdin", "-loglevel", "error", "-y",
            "-f", "lavfi", "-i", f"testsrc2=size=320x240:rate=25:duration={SEGMENT_S}",
            "-c:v", "libx264", "-preset", "ultrafast", "-g", "25", "-pix_fmt", "yuv420p",
            "-movflags", "+frag_keyframe+empty_moov+default_base_moof", str(path),
        ],
        check=True,
    )  # fmt: skip
    return path


@dataclass
class World:
    client: TestClient
    container: Container
    admin: dict[str, str]
    unit_id: int = 0
    cameras: dict[str, int] = field(default_factory=dict)  # division → camera id
    footage_start: datetime | None = None
    people: dict[str, dict[str, str]] = field(default_factory=dict)  # username → headers
    user_ids: dict[str, int] = field(default_factory=dict)

    def person(
        self,
        username: str,
        role: Role,
        *,
        full_name: str = "",
        jurisdiction: str | None = None,
        title: ApproverRole | None = None,
        unit_id: int | None = None,
        scopes: tuple[str, ...] = (),
    ) -> dict[str, str]:
        if username not in self.people:
            if username not in self.user_ids:
                profile = UserProfile(full_name, jurisdiction, title, scopes)
                u = self.container.auth.create_user(
                    SYSTEM, username, role, PASSWORD, unit_id, profile
                )
                self.user_ids[username] = u.id or 0
            r = self.client.post(
                f"{API}/auth/login", json={"username": username, "password": PASSWORD}
            )
            assert r.status_code == 200, r.text
            self.people[username] = {"Authorization": f"Bearer {r.json()['access_token']}"}
        return self.people[username]

    def range(self, from_s: float, to_s: float) -> dict[str, str]:
        assert self.footage_start is not None
        return {
            "start": (self.footage_start + timedelta(seconds=from_s)).isoformat(),
            "end": (self.footage_start + timedelta(seconds=to_s)).isoformat(),
        }


def build_world(
    client: TestClient, container: Container, admin: dict[str, str], clip: Path
) -> World:
    w = World(client, container, admin)
    w.unit_id = make_unit(client, admin, 1)
    store = SegmentStore(container.settings.resolved_media_dir())
    now = container.clock.now()
    w.footage_start = (now - timedelta(hours=1)).replace(microsecond=0)
    for i, division in enumerate(DIVISIONS, start=1):
        site_id = make_site(client, admin, w.unit_id, division, name=f"Site {division}")
        body = camera_body(site_id, division, serial=i)
        r = client.post(f"{API}/cameras", json=body, headers=admin)
        assert r.status_code == 201, r.text
        cid = int(r.json()["id"])
        w.cameras[division] = cid
        for seq in range(3):  # three 10-s segments back to back
            run_dir = store.run_dir(cid, "testrun")
            path = run_dir / f"{seq:06d}.mp4"
            shutil.copyfile(clip, path)
            sealed = store.seal(path)
            start = w.footage_start + timedelta(seconds=seq * SEGMENT_S)
            container.recording.seal(
                Segment(
                    None, cid, "testrun", seq, store.relative(path), start,
                    start + timedelta(seconds=SEGMENT_S), float(SEGMENT_S), sealed.bytes,
                    sealed.sha256, "h264", 320, 240, now,
                )
            )  # fmt: skip
    return w


def handlers(*names: str, credential: str | tuple[str, ...] = "work_id") -> list[dict[str, Any]]:
    if isinstance(credential, str):  # the older single-credential form
        return [
            {"name": n, "credential_type": credential, "credential_number": f"NO-{i:04d}"}
            for i, n in enumerate(names, start=1)
        ]
    return [
        {
            "name": n,
            "credentials": [
                {"type": k, "number": f"NO-{i:04d}-{j}"} for j, k in enumerate(credential)
            ],
        }
        for i, n in enumerate(names, start=1)
    ]


def request_body(w: World, division: str, action: str, **over: Any) -> dict[str, Any]:
    now = w.container.clock.now()
    body: dict[str, Any] = {
        "action": action,
        "scope": {"camera_ids": [w.cameras[division]], **w.range(0, 25)},
        "requester_kind": "police",
        "organ": "西安市公安局雁塔分局",
        "organ_unit": "刑侦大队",
        "legal_basis": "《刑事诉讼法》第五十四条",
        "purpose": "侦查盗窃案件 (theft investigation, case 2026-118)",
        "handlers": handlers("王警官", "李警官", credential=CREDENTIAL[division]),
        "expires_at": (now + timedelta(days=7)).isoformat(),
    }
    return body | over
