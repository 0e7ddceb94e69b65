"""The custos-filing/1 and custos-filing-decision/1 layout: packed, unpacked, and every
malformed or altered file refused naming its member (docs/design/filing.md D3)."""

from __future__ import annotations

import io
import zipfile

import pytest

from custos.domain.filing_exchange import (
    DECISION_FORMAT,
    FILING_FORMAT,
    ExchangeRefused,
    manifest_of,
    pack,
    unpack,
)

MEMBERS = {"package.json": b'{"a":1}', "package.pdf": b"%PDF-1.7 x"}
SIG = bytes(range(64))


def _file(members: dict[str, bytes] = MEMBERS) -> bytes:
    manifest = manifest_of(FILING_FORMAT, members, {"submission": {"receipt_number": "r"}})
    return pack(members, manifest, SIG, b"-----BEGIN PUBLIC KEY-----\n")


def _rezip(data: bytes, drop: str = "", add: tuple[str, bytes] | None = None) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            if info.filename != drop:
                dst.writestr(info.filename, src.read(info))
        if add:
            dst.writestr(*add)
    return out.getvalue()


def test_packed_file_unpacks_with_its_manifest_and_signature() -> None:
    data = _file()
    assert data == _file()  # the same content makes the same file
    opened = unpack(data, FILING_FORMAT)
    assert opened.members == MEMBERS
    assert opened.signature == SIG
    assert opened.manifest["format"] == FILING_FORMAT
    assert opened.manifest["submission"] == {"receipt_number": "r"}
    assert [f["name"] for f in opened.manifest["files"]] == ["package.json", "package.pdf"]


@pytest.mark.parametrize(
    ("data", "member"),
    [
        (b"not a zip", "file"),
        (_rezip(_file(), drop="package.pdf"), "package.pdf"),
        (_rezip(_file(), drop="signature"), "signature"),
        (_rezip(_file(), add=("extra.txt", b"x")), "extra.txt"),
        (
            _rezip(_rezip(_file(), drop="package.json"), add=("package.json", b'{"a":2}')),
            "package.json",
        ),
        (_rezip(_rezip(_file(), drop="signature"), add=("signature", b"zz")), "signature"),
    ],
)
def test_malformed_or_altered_files_are_refused_naming_the_member(data: bytes, member: str) -> None:
    with pytest.raises(ExchangeRefused) as refused:
        unpack(data, FILING_FORMAT)
    assert refused.value.member == member


def test_a_file_of_the_other_format_is_refused_on_its_members() -> None:
    with pytest.raises(ExchangeRefused) as refused:
        unpack(_file(), DECISION_FORMAT)
    assert refused.value.member in {"package.json", "decision.json"}
