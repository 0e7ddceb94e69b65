"""``custos-verify PACKAGE.zip [--fingerprint FP]``.

Exit status: 0 every check passed; 1 verification failed (the first failure is named);
2 usage error, or the input cannot be read at all (not a file, not a ZIP), or an error not
foreseen (printed in one line, with no verdict). Never a traceback.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from custos_verify import __version__
from custos_verify.checks import Failure, Step, verify_package
from custos_verify.format import normalise_fingerprint
from custos_verify.media import find_ffprobe
from custos_verify.package import Unreadable

OK, FAILED, UNUSABLE = 0, 1, 2


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        print(f"custos-verify: {message}", file=sys.stderr)
        raise SystemExit(UNUSABLE)


def _parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="custos-verify",
        description="Verify a Custos evidence package (custos-evidence/1) offline.",
        epilog="Exit status: 0 verified; 1 verification failed (the first failure is named); "
        "2 usage error or unreadable input.",
    )
    p.add_argument("package", type=Path, help="the package ZIP")
    p.add_argument(
        "--fingerprint",
        metavar="FP",
        help="the export key's fingerprint as published (custody sheet, GET /api/v1/keys); "
        "64 hex digits, spaces and colons allowed",
    )
    p.add_argument("--version", action="version", version=f"custos-verify {__version__}")
    return p


def _print(step: Step) -> None:
    label = {"ok": "ok  ", "note": "note", "info": "    "}.get(step.kind, step.kind)
    print(f"{label}  {step.text}", flush=True)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    fp = None
    if args.fingerprint is not None:
        fp = normalise_fingerprint(args.fingerprint)
        if fp is None:
            print("custos-verify: --fingerprint is 64 hex digits", file=sys.stderr)
            return UNUSABLE
    if not args.package.is_file():
        print(f"custos-verify: {args.package}: no such file", file=sys.stderr)
        return UNUSABLE
    print(f"Verifying {args.package}")
    try:
        verify_package(args.package, fp, find_ffprobe(), _print)
    except Unreadable as e:
        print(f"custos-verify: {e}", file=sys.stderr)
        return UNUSABLE
    except Failure as e:
        print(f"FAILED  {e.step}: {e.culprit}: {e.reason}", flush=True)
        print("NOT VERIFIED: the package is not as it was exported.")
        return FAILED
    except KeyboardInterrupt:
        return UNUSABLE
    except Exception as e:  # a case not foreseen: still no traceback, and no verdict
        print(
            f"custos-verify: could not verify {args.package}: {type(e).__name__}: {e}",
            file=sys.stderr,
        )
        return UNUSABLE
    if fp is None:
        print("VERIFIED, except the key: check its fingerprint (above) against one from elsewhere.")
    else:
        print("VERIFIED: the package is as exported and its export is in the signed log.")
    return OK
