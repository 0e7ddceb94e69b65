"""custos-verify on packages as exported, and on each tamper the issue names: every one fails,
exit status 1, naming the culprit file; unreadable input exits 2 without a traceback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
import warnings
import zipfile
from collections.abc import Callable
from pathlib import Path

import custos_verify
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tests.verifier.builder import Built, build, flip_byte, members, raw_public, resigned, rezip
from tests.verifier.conftest import CAMERAS, Run

Verify = Callable[..., Run]
VIDEO_A = f"video/{CAMERAS[0]}.mp4"
VIDEO_B = f"video/{CAMERAS[1]}.mp4"


def failed(r: Run, step: str, culprit: str) -> None:
    assert r.rc == 1, (r.out, r.err)
    assert f"FAILED  {step}: {culprit}:" in r.out, r.out
    assert "Traceback" not in r.out + r.err


def test_a_package_as_exported_verifies_with_its_fingerprint(
    package: Built, verify: Verify
) -> None:
    r = verify(package.path, "--fingerprint", package.fingerprint)
    assert r.rc == 0, r.out + r.err
    for step in (
        "contents",
        "hashes",
        "signature",
        "key",
        "entry",
        "inclusion",
        "checkpoint",
        "media",
    ):
        assert f"ok    {step}:" in r.out, r.out
    assert "each of the 2 MP4 files decodes" in r.out
    assert "the manifest: kind export, unit 测试单位, exported 2026-11-20T02:00:00.000000Z" in r.out
    assert f"camera {CAMERAS[1]} (camera {CAMERAS[1]}): {VIDEO_B}" in r.out
    assert "VERIFIED: the package is as exported" in r.out


def test_the_fingerprint_may_be_given_grouped_and_in_capitals(
    package: Built, verify: Verify
) -> None:
    fp = package.fingerprint.upper()
    grouped = " ".join(fp[i : i + 4] for i in range(0, 64, 4))
    assert verify(package.path, "--fingerprint", grouped).rc == 0


def test_without_a_fingerprint_it_checks_the_rest_and_says_the_key_is_unvouched(
    package: Built, verify: Verify
) -> None:
    r = verify(package.path)
    assert r.rc == 0, r.out
    assert "only as trusted as wherever its fingerprint came from" in r.out
    assert package.fingerprint[:4] + " " + package.fingerprint[4:8] in r.out
    assert "VERIFIED, except the key" in r.out


def test_python_m_custos_verify_runs_the_same(package: Built) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "custos_verify", str(package.path), "--fingerprint", package.fingerprint],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr


def test_without_ffprobe_it_says_the_mp4s_were_not_decoded(package: Built, verify: Verify) -> None:
    env = {**os.environ, "PATH": str(Path(sys.executable).parent)}
    r = verify(package.path, "--fingerprint", package.fingerprint, env=env)
    assert r.rc == 0, r.out
    assert "ffprobe is not on PATH: the 2 MP4 files were hashed but not decoded" in r.out


def test_a_byte_flipped_in_an_mp4_is_named(package: Built, verify: Verify, tmp_path: Path) -> None:
    middle = len(members(package.path)[VIDEO_B]) // 2
    bad = flip_byte(package.path, tmp_path / "bad.zip", VIDEO_B, middle)
    failed(verify(bad, "--fingerprint", package.fingerprint), "hashes", VIDEO_B)


def test_a_byte_flipped_in_the_manifest_is_named(
    package: Built, verify: Verify, tmp_path: Path
) -> None:
    text = members(package.path)["manifest.json"]
    at = text.index(b"tamper test")  # the purpose: still JSON, still listing the same files
    bad = flip_byte(package.path, tmp_path / "bad.zip", "manifest.json", at)
    failed(verify(bad, "--fingerprint", package.fingerprint), "signature", "manifest.json")


def test_a_byte_flipped_in_the_proof_is_named(
    package: Built, verify: Verify, tmp_path: Path
) -> None:
    text = members(package.path)["log/proof.json"]
    at = text.index(b'"path": ["') + 12
    bad = flip_byte(package.path, tmp_path / "bad.zip", "log/proof.json", at)
    failed(verify(bad, "--fingerprint", package.fingerprint), "inclusion", "log/proof.json")


def test_a_segment_swapped_for_another_cameras_is_named(
    package: Built, verify: Verify, tmp_path: Path
) -> None:
    m = members(package.path)
    bad = rezip(package.path, tmp_path / "bad.zip", replace={VIDEO_A: m[VIDEO_B]})
    failed(verify(bad, "--fingerprint", package.fingerprint), "hashes", VIDEO_A)


@pytest.mark.parametrize("name", [VIDEO_A, "log/proof.json", "manifest.sig"])
def test_a_file_removed_is_named(package: Built, verify: Verify, tmp_path: Path, name: str) -> None:
    bad = rezip(package.path, tmp_path / "bad.zip", drop=(name,))
    failed(verify(bad, "--fingerprint", package.fingerprint), "contents", name)


def test_the_custody_sheet_removed_is_named_by_the_entry(
    package: Built, verify: Verify, tmp_path: Path
) -> None:
    bad = rezip(package.path, tmp_path / "bad.zip", drop=("custody.pdf",))
    r = verify(bad, "--fingerprint", package.fingerprint)
    failed(r, "entry", "custody.pdf")
    assert "is missing from the ZIP" in r.out


def test_the_custody_sheet_altered_is_named_by_the_entry(
    package: Built, verify: Verify, tmp_path: Path
) -> None:
    bad = flip_byte(package.path, tmp_path / "bad.zip", "custody.pdf", 12)
    r = verify(bad, "--fingerprint", package.fingerprint)
    failed(r, "entry", "custody.pdf")
    assert "is not the one the operation-log entry names" in r.out


def test_a_custody_sheet_swapped_from_another_package_is_named(
    package: Built, verify: Verify, tmp_path: Path, clips: dict[str, bytes]
) -> None:
    other = build(tmp_path / "other.zip", clips, sheet=b"%PDF-1.7 another package's sheet\n")
    assert verify(other.path, "--fingerprint", other.fingerprint).rc == 0
    theirs = members(other.path)["custody.pdf"]
    bad = rezip(package.path, tmp_path / "bad.zip", replace={"custody.pdf": theirs})
    failed(verify(bad, "--fingerprint", package.fingerprint), "entry", "custody.pdf")


def test_a_package_without_a_sheet_verifies_and_one_added_is_named(
    verify: Verify, tmp_path: Path, clips: dict[str, bytes]
) -> None:
    bare = build(tmp_path / "bare.zip", clips, sheet=None)
    r = verify(bare.path, "--fingerprint", bare.fingerprint)
    assert r.rc == 0, r.out
    assert "custody sheet" not in r.out.split("entry:")[1].splitlines()[0]
    bad = rezip(bare.path, tmp_path / "bad.zip", add={"custody.pdf": b"%PDF-1.7 forged\n"})
    r = verify(bad, "--fingerprint", bare.fingerprint)
    failed(r, "entry", "custody.pdf")
    assert "was added" in r.out


def test_a_package_made_before_the_sheet_left_the_manifest_still_verifies(
    verify: Verify, tmp_path: Path, clips: dict[str, bytes]
) -> None:
    """Packages made before custody.pdf became a fixed name list it in ``files``: its hash is
    then checked there, and the entry names none."""
    old = build(tmp_path / "old.zip", clips, sheet=None, extra={"custody.pdf": b"%PDF-1.7 old\n"})
    assert "custody.pdf" in {e["name"] for e in old.manifest["files"]}
    assert verify(old.path, "--fingerprint", old.fingerprint).rc == 0
    bad = flip_byte(old.path, tmp_path / "bad.zip", "custody.pdf", 10)
    failed(verify(bad, "--fingerprint", old.fingerprint), "hashes", "custody.pdf")


def test_a_file_added_is_named(package: Built, verify: Verify, tmp_path: Path) -> None:
    bad = rezip(package.path, tmp_path / "bad.zip", add={"video/extra.mp4": b"not listed"})
    failed(verify(bad, "--fingerprint", package.fingerprint), "contents", "video/extra.mp4")


def test_a_name_twice_is_named(package: Built, verify: Verify, tmp_path: Path) -> None:
    bad = tmp_path / "bad.zip"
    bad.write_bytes(package.path.read_bytes())

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns of the duplicate name: that is the point
        with zipfile.ZipFile(bad, "a", zipfile.ZIP_STORED) as z:
            z.writestr("custody.pdf", b"a second sheet")
    failed(verify(bad, "--fingerprint", package.fingerprint), "contents", "custody.pdf")


def test_the_manifest_resigned_with_another_key_fails_the_fingerprint(
    package: Built, verify: Verify, tmp_path: Path
) -> None:
    r = verify(
        resigned(package.path, tmp_path / "resigned.zip"), "--fingerprint", package.fingerprint
    )
    failed(r, "key", "keys/export.pub")
    assert "is not the one given" in r.out


def test_the_manifest_resigned_with_another_key_fails_the_log_even_unpinned(
    package: Built, verify: Verify, tmp_path: Path
) -> None:
    failed(verify(resigned(package.path, tmp_path / "resigned.zip")), "entry", "log/entry.bin")


def test_a_package_from_a_log_rewritten_later_is_caught(
    clips: dict[str, bytes], verify: Verify, tmp_path: Path
) -> None:
    built = build(tmp_path / "p.zip", clips)
    built.log.rewrite(2, "camera.view.hidden")  # an earlier entry rewritten in the database
    proof = built.log.proof(built.seq, len(built.log.entries))  # a proof from the rewritten log

    bad = rezip(
        built.path, tmp_path / "bad.zip", replace={"log/proof.json": json.dumps(proof).encode()}
    )
    r = verify(bad, "--fingerprint", built.fingerprint)
    failed(r, "inclusion", "log/proof.json")
    assert "do not lead to the root of log/checkpoint.json" in r.out


def test_a_checkpoint_of_a_rewritten_log_signed_by_another_key_is_caught(
    clips: dict[str, bytes], verify: Verify, tmp_path: Path
) -> None:
    built = build(tmp_path / "p.zip", clips)
    built.log.rewrite(2, "camera.view.hidden")
    forger = Ed25519PrivateKey.generate()
    cp = built.log.checkpoint(key=forger)

    proof = built.log.proof(built.seq, cp.tree_size)
    bad = rezip(
        built.path,
        tmp_path / "bad.zip",
        replace={
            "log/proof.json": json.dumps(proof).encode(),
            "log/checkpoint.json": json.dumps(cp.as_dict()).encode(),
            "keys/log.pub": raw_public(forger).hex().encode(),
        },
    )
    failed(verify(bad, "--fingerprint", built.fingerprint), "checkpoint", "keys/log.pub")


def test_a_checkpoint_signature_altered_is_named(
    package: Built, verify: Verify, tmp_path: Path
) -> None:

    cp = json.loads(members(package.path)["log/checkpoint.json"])
    cp["signed_at"] = "2026-11-20T04:00:00.000000Z"  # a later time claimed
    bad = rezip(
        package.path, tmp_path / "bad.zip", replace={"log/checkpoint.json": json.dumps(cp).encode()}
    )
    failed(verify(bad, "--fingerprint", package.fingerprint), "checkpoint", "log/checkpoint.json")


def test_an_mp4_that_does_not_decode_is_named(
    clips: dict[str, bytes], verify: Verify, tmp_path: Path
) -> None:
    videos = {CAMERAS[0]: clips[CAMERAS[0]], CAMERAS[1]: b"\x00\x00\x00\x18ftypisom" + bytes(4000)}
    built = build(tmp_path / "p.zip", videos)
    failed(verify(built.path, "--fingerprint", built.fingerprint), "media", VIDEO_B)


def test_unreadable_input_exits_2_without_a_traceback(verify: Verify, tmp_path: Path) -> None:
    not_zip = tmp_path / "x.zip"
    not_zip.write_bytes(b"PK but not a zip")
    for args in ([not_zip], [tmp_path / "missing.zip"], [not_zip, "--fingerprint", "abc"], []):
        r = verify(*args)
        assert r.rc == 2, (args, r.out, r.err)
        assert "Traceback" not in r.out + r.err


def test_bytes_hidden_before_the_first_file_are_named(
    package: Built, verify: Verify, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.zip"
    bad.write_bytes(b"hidden payload " * 10 + package.path.read_bytes())  # ZIP readers skip it
    with zipfile.ZipFile(bad) as z:
        assert z.testzip() is None  # still a sound ZIP to an ordinary reader
    failed(
        verify(bad, "--fingerprint", package.fingerprint),
        "contents",
        "bytes 0..150 of the ZIP file",
    )


def test_a_local_header_naming_another_file_is_named(
    package: Built, verify: Verify, tmp_path: Path
) -> None:
    data = bytearray(package.path.read_bytes())
    with zipfile.ZipFile(package.path) as z:
        at = z.getinfo("custody.pdf").header_offset + 30
    assert data[at : at + 11] == b"custody.pdf"
    data[at : at + 11] = b"custodx.pdf"  # what an extracting tool would write out
    bad = tmp_path / "bad.zip"
    bad.write_bytes(bytes(data))
    r = verify(bad, "--fingerprint", package.fingerprint)
    failed(r, "contents", "custody.pdf (its local header names another file)")


def test_deeply_nested_json_is_refused_without_a_traceback(
    package: Built, verify: Verify, tmp_path: Path
) -> None:
    bad = rezip(package.path, tmp_path / "bad.zip", replace={"log/proof.json": b"[" * 100_000})
    failed(verify(bad, "--fingerprint", package.fingerprint), "inclusion", "log/proof.json")


def test_a_recompressed_package_still_verifies_for_its_content(
    package: Built, verify: Verify, tmp_path: Path
) -> None:
    again = tmp_path / "deflated.zip"
    with zipfile.ZipFile(again, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members(package.path).items():
            z.writestr(name, data)
    r = verify(again, "--fingerprint", package.fingerprint)
    assert r.rc == 0, r.out
    assert "each of the 2 MP4 files decodes" in r.out


def test_a_member_in_an_unknown_compression_method_is_named(
    package: Built, verify: Verify, tmp_path: Path
) -> None:
    data = bytearray(package.path.read_bytes())
    with zipfile.ZipFile(package.path) as z:
        local = z.getinfo("custody.pdf").header_offset
        central = z.start_dir + data[z.start_dir :].index(b"custody.pdf") - 46
    for at in (local + 8, central + 10):  # the method, in the local header and the directory
        data[at : at + 2] = (1).to_bytes(2, "little")  # "shrunk": no reader has it any more
    bad = tmp_path / "bad.zip"
    bad.write_bytes(bytes(data))
    failed(verify(bad, "--fingerprint", package.fingerprint), "read", "custody.pdf")


def test_it_runs_where_custos_cannot_be_imported(package: Built, tmp_path: Path) -> None:
    """``python -S``: no site processing, so neither editable install is on the path; only the
    verifier's sources and the installed libraries (cryptography) are given."""
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(
            [str(Path(custos_verify.__file__).parents[1]), sysconfig.get_paths()["purelib"]]
        ),
    }
    probe = subprocess.run(
        [sys.executable, "-S", "-c", "import importlib.util as u; print(u.find_spec('custos'))"],
        capture_output=True, text=True, env=env, cwd=tmp_path, check=True,
    )  # fmt: skip
    assert probe.stdout.strip() == "None"
    done = subprocess.run(
        [sys.executable, "-S", "-m", "custos_verify", str(package.path), "--fingerprint", package.fingerprint],
        capture_output=True, text=True, env=env, cwd=tmp_path, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "VERIFIED: the package is as exported" in done.stdout
