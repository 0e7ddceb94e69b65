"""The filing package's parts, the articles that make each mandatory per pack, and its identity
(docs/design/filing.md D2)."""

from __future__ import annotations

import hashlib
import json
import re
import zlib
from pathlib import Path

import pytest

from custos.adapters.rulepack_loader import load_rulebook
from custos.domain.errors import ValidationFailed
from custos.domain.filing_package import (
    PACKAGE_PARTS,
    CameraEntry,
    Document,
    FilingProfile,
    PartyUnit,
    ResponsiblePerson,
    SiteEntry,
    UnitEntry,
    assemble,
    canonical,
    check_profile,
    mandatory_parts,
    missing_errors,
    missing_parts,
    package_sha256,
)

RULEPACKS = Path(__file__).parents[2] / "src/custos/rulepacks"
SHA = "a" * 64


def _site() -> SiteEntry:
    return SiteEntry(
        7, "商场", "1 路", "500151", "重庆市铜梁区", "fixed", "art7_p2", ("shopping_mall",), False
    )


def _camera(code: str = "50015100001320000001") -> CameraEntry:
    return CameraEntry(
        1, code, "入口", "IPC", "北门", ("shopping_mall",), "入口", True, True, "in_service", 30,
        ("national-2025:art17.p1",),
    )  # fmt: skip


def _profile(**over: object) -> FilingProfile:
    base = FilingProfile(
        system_name="商场视频监控系统",
        owner_unit=PartyUnit("甲", "010-1"),
        builder_unit=PartyUnit("乙", "010-2"),
        maintainer_unit=PartyUnit("丙", "010-3"),
        responsible_persons=(ResponsiblePerson("李四", "13800000000", "负责人"),),
        network_kind="private",
        storage_description="NVR",
        design_scheme=Document(SHA, "d.pdf"),
        acceptance_report=Document(SHA, "a.pdf"),
    )
    return FilingProfile(**{**base.__dict__, **over})


def _package(profile: FilingProfile, cameras: list[CameraEntry] | None = None) -> dict[str, object]:
    return assemble(
        _site(),
        UnitEntry(3, "某公司", "91500151000000011X"),
        [_camera()] if cameras is None else cameras,
        profile,
        {"division_code": "500151", "organ_name": "重庆市公安局铜梁区分局"},
        ["national-2025", "chongqing-2016"],
    )


def test_every_cited_article_is_a_pack_article_in_the_shipped_packs() -> None:
    book = load_rulebook()
    for part in PACKAGE_PARTS:
        for cite in part.citations:
            pack_id, article = cite.split(":")
            book.pack(pack_id)  # raises for an unknown pack
            text = (RULEPACKS / f"{pack_id}.yaml").read_text("utf-8")
            number = re.match(r"art\d+", article)
            assert number is not None
            assert re.search(rf"{pack_id}:{number.group(0)}\b", text), cite


@pytest.mark.parametrize(
    ("packs", "documents"),
    [
        (["national-2025"], False),  # Guangdong
        (["national-2025", "beijing-2007"], False),
        (["national-2025", "liaoning-2008"], False),
        (["national-2025", "shaanxi-2011"], False),  # Shaanxi outside Xi'an
        (["national-2025", "shaanxi-2011", "xian-2020"], True),  # Xi'an art. 14
        (["national-2025", "chongqing-2016"], True),  # Chongqing art. 16 ¶1
    ],
)
def test_which_parts_each_pack_makes_mandatory(packs: list[str], documents: bool) -> None:
    parts = dict(mandatory_parts(packs))
    base = {"system_profile", "units", "responsible_persons", "cameras", "storage", "network"}
    assert set(parts) == base | ({"design_scheme", "acceptance_report"} if documents else set())
    for cites in parts.values():
        assert all(c.split(":")[0] in packs for c in cites)
    if "beijing-2007" in packs:
        assert "beijing-2007:art11.p1" in parts["system_profile"]
    if "xian-2020" in packs:
        assert parts["acceptance_report"] == ["xian-2020:art14.p2"]


def test_a_complete_package_lacks_nothing_and_an_empty_profile_lacks_each_part() -> None:
    packs = ["national-2025", "chongqing-2016"]
    assert missing_parts(_package(_profile()), packs) == []
    empty = missing_parts(_package(FilingProfile(), cameras=[]), packs)
    assert [part for part, _ in empty] == [p.key for p in PACKAGE_PARTS]
    errors = missing_errors(empty)
    assert errors[0].field == "package.system_profile" and errors[0].rule_id
    assert errors[-1].field == "package.acceptance_report"
    assert errors[-1].params["citations"] == ["chongqing-2016:art16.p1"]


def test_a_removal_of_every_camera_asks_for_no_cameras_or_storage() -> None:
    packs = ["national-2025", "chongqing-2016"]
    none_left = _package(_profile(), cameras=[])
    assert [p for p, _ in missing_parts(none_left, packs)] == ["cameras", "storage"]
    assert missing_parts(none_left, packs, removal=True) == []
    # a removal that leaves cameras, or leaves the profile incomplete, still needs the rest
    assert missing_parts(_package(_profile()), packs, removal=True) == []
    broken = _package(_profile(network_kind=""), cameras=[])
    assert [p for p, _ in missing_parts(broken, packs, removal=True)] == ["network"]


def test_a_unit_without_contact_or_a_person_without_phone_is_missing() -> None:
    packs = ["national-2025"]
    no_contact = _profile(maintainer_unit=PartyUnit("丙", ""))
    assert [p for p, _ in missing_parts(_package(no_contact), packs)] == ["units"]
    no_network = _profile(network_kind="")
    assert [p for p, _ in missing_parts(_package(no_network), packs)] == ["network"]


def test_the_canonical_json_is_sorted_compact_utf8_and_its_hash_is_the_identity() -> None:
    package = _package(_profile())
    body = canonical(package)
    assert body == json.dumps(
        json.loads(body), ensure_ascii=False, sort_keys=True, separators=(",", ":")
    ).encode("utf-8")
    assert "商场视频监控系统".encode() in body
    assert package_sha256(package) == hashlib.sha256(body).hexdigest()
    changed = _package(_profile(storage_description="NVR, RAID 5"))
    assert package_sha256(changed) != package_sha256(package)


def test_the_profile_round_trips_and_malformed_ones_are_refused() -> None:
    profile = _profile()
    assert FilingProfile.from_dict(profile.as_dict()) == profile
    assert FilingProfile.from_dict(None) == FilingProfile()
    with pytest.raises(ValidationFailed) as bad:
        check_profile(_profile(network_kind="carrier_pigeon", design_scheme=Document("x", "")))
    assert {e.field for e in bad.value.errors} == {"network.kind", "design_scheme.sha256"}
    with pytest.raises(ValidationFailed):
        check_profile(_profile(responsible_persons=(ResponsiblePerson("", "1"),)))


def test_the_pdf_is_set_in_noto_cjk() -> None:
    from custos.adapters.export.filing_pdf import render_filing_pdf

    receipt = {"receipt_number": "500151-20261120-001", "package_sha256": SHA, "kind": "initial"}
    pdf = render_filing_pdf(_package(_profile()), receipt)
    assert pdf.startswith(b"%PDF")
    fonts: set[bytes] = set()
    for stream in re.finditer(rb"stream\r?\n(.*?)endstream", pdf, re.S):
        try:
            fonts |= set(re.findall(rb"/FontName\s*/([\w+-]+)", zlib.decompress(stream.group(1))))
        except zlib.error:
            continue
    assert any(b"Noto-Serif-CJK-SC" in f or b"Noto-Sans-CJK-SC" in f for f in fonts), fonts
