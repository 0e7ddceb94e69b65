"""Every refusal a rule causes cites it: a walk over src/ finds each ``RuleRefusal(...)``.

Three checks over the syntax tree of every module under ``src/custos``:

- each ``FieldError(...)`` written inside a ``RuleRefusal(...)`` passes a rule id (third
  positional argument or ``rule_id=``), never ``None``;
- no ``RuleRefusal(a or b)`` fallback (the fallback is where an uncited error hides);
- each function that raises ``RuleRefusal`` is in :data:`PATHS`, with the behavioural test that
  drives it; a new refusal path fails here until a test for it is named.

``RuleRefusal`` itself refuses to be built with an uncited error (``tests/unit/test_errors.py``),
so the behavioural tests named in :data:`PATHS` fail on an uncited refusal at run time.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

from custos.domain.errors import FieldError, RuleRefusal

SRC = Path(__file__).resolve().parents[2] / "src" / "custos"
TESTS = Path(__file__).resolve().parents[1]

#: (module relative to src/custos, function) → the test (file::name) that drives that path.
PATHS: dict[tuple[str, str], str] = {
    ("services/access_requests.py", "submit"): (
        "api/test_access_requests.py::test_one_handler_is_refused_with_the_articles"
    ),
    ("services/access_requests.py", "_refuse_unapproved"): (
        "api/test_refusal_citations.py::test_an_emergency_view_in_liaoning_is_not_executed_unapproved"
    ),
    ("services/access_requests.py", "_check_separation"): (
        "api/test_refusal_citations.py::test_the_requester_approving_cites_shaanxi_art17"
    ),
    ("services/access_requests.py", "_check_approver"): (
        "api/test_access_requests.py::"
        "test_approval_by_the_requester_or_a_handler_or_the_wrong_title_is_refused"
    ),
    ("services/footage.py", "_refuse_outside"): (
        "api/test_refusal_citations.py::test_reading_outside_a_grant_cites_the_scope_articles"
    ),
    ("services/registry.py", "update_site"): (
        "api/test_refusal_citations.py::test_classifying_a_site_with_an_internet_camera_cites_xian_art20"
    ),
    ("services/registry.py", "_validate_camera"): (
        "api/test_registry.py::test_classified_site_may_not_have_an_internet_camera"
    ),
    ("services/retention.py", "delete_segment"): (
        "api/test_retention.py::test_an_explicit_delete_inside_retention_is_refused_with_the_articles"
    ),
}


def _functions(tree: ast.AST) -> Iterator[ast.FunctionDef]:
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef):
            yield node


def _calls_named(node: ast.AST, name: str) -> Iterator[ast.Call]:
    for sub in ast.walk(node):
        if isinstance(sub, ast.Call):
            f = sub.func
            called = (
                f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else ""
            )
            if called == name:
                yield sub


def _refusal_sites() -> Iterator[tuple[str, ast.FunctionDef, ast.Call]]:
    for path in sorted(SRC.rglob("*.py")):
        if path.name == "errors.py" and path.parent.name == "domain":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        rel = path.relative_to(SRC).as_posix()
        for fn in _functions(tree):
            inner = {id(c) for f in _functions(fn) if f is not fn for c in ast.walk(f)}
            for call in _calls_named(fn, "RuleRefusal"):
                if id(call) not in inner:
                    yield rel, fn, call


def _cites(call: ast.Call) -> bool:
    rule = call.args[2] if len(call.args) >= 3 else None
    for kw in call.keywords:
        if kw.arg == "rule_id":
            rule = kw.value
    return rule is not None and not (isinstance(rule, ast.Constant) and rule.value is None)


def test_the_walk_finds_the_refusals() -> None:
    assert len(list(_refusal_sites())) >= len(PATHS)


def test_every_field_error_inside_a_rule_refusal_names_its_rule() -> None:
    uncited = [
        f"{rel}:{err.lineno} in {fn.name}"
        for rel, fn, call in _refusal_sites()
        for arg in call.args
        for err in _calls_named(arg, "FieldError")
        if not _cites(err)
    ]
    assert uncited == []


def test_no_rule_refusal_falls_back_to_an_uncited_error() -> None:
    fallbacks = [
        f"{rel}:{call.lineno} in {fn.name}"
        for rel, fn, call in _refusal_sites()
        for arg in call.args
        for sub in ast.walk(arg)
        if isinstance(sub, ast.BoolOp)
    ]
    assert fallbacks == []


def test_every_refusal_path_has_a_behavioural_test() -> None:
    found = {(rel, fn.name) for rel, fn, _ in _refusal_sites()}
    assert found == set(PATHS), "name the test that drives each new RuleRefusal path in PATHS"
    for test in PATHS.values():
        file, name = test.split("::")
        source = (TESTS / file).read_text(encoding="utf-8")
        assert f"def {name}(" in source, f"{test} does not exist"


def test_the_check_itself_catches_an_uncited_refusal() -> None:
    bad = ast.parse('raise RuleRefusal([FieldError("x", "no rule")])').body[0]
    assert isinstance(bad, ast.Raise) and isinstance(bad.exc, ast.Call)
    [err] = list(_calls_named(bad.exc, "FieldError"))
    assert not _cites(err)
    with pytest.raises(ValueError, match="without a rule_id"):
        RuleRefusal([FieldError("x", "no rule")])
