"""Read the rule packs (``src/custos/rulepacks/*.yaml``) into domain objects, strictly.

Every mapping is checked for unknown and missing keys, every value for its type, every
citation for its form and its pack, every category key against the catalogue. The first defect
stops loading with a :class:`RulePackInvalid` naming the file and the key path, e.g.
``national-2025.yaml: prohibited_categories.toilets: unknown category key``. The schema is
described in docs/design/rules.md.
"""

from __future__ import annotations

import enum
import functools
from collections.abc import Callable, Iterator
from datetime import date
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import TypeVar

import yaml

from custos.domain.errors import ValidationFailed
from custos.domain.kinds import AccessAction, PublicPlaceArticle
from custos.domain.rules import RuleBook, RuleBookInvalid, model, terms
from custos.domain.rules.categories import CATEGORY_GROUPS, CategoryKind, is_kind
from custos.domain.rules.citation import Citation, is_pack_id

E = TypeVar("E", bound=enum.Enum)
T = TypeVar("T")

_PACK_KEYS = {
    "id", "name_zh", "name_en", "instrument", "effective_date", "parent", "applies_to",
    "source_file", "notes", "retention", "filing", "acceptance_before_use",
    "preexisting_upgrade", "access", "mandatory_categories", "prohibited_categories",
    "public_area", "signage", "network", "penalties", "deferred_penalties", "site_exemptions",
    "operating",
}  # fmt: skip
_OPTIONAL_PACK_KEYS = frozenset({"publication"})
_FINE_KEYS = [
    "unit_min", "unit_max", "person_min", "person_max", "individual_min", "individual_max",
]  # fmt: skip


class RulePackInvalid(RuleBookInvalid):
    """A rule pack file breaks the schema; ``source`` and ``key`` say where."""

    def __init__(self, source: str, key: str, reason: str) -> None:
        self.source = source
        self.key = key
        self.reason = reason
        super().__init__(f"{source}: {key or '<document>'}: {reason}")


#: libyaml's loader where PyYAML was built with it (ten times faster; same results)
_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_rulebook(directory: Path | Traversable | None = None) -> RuleBook:
    """Every ``*.yaml`` pack in ``directory`` (default: the packaged ``custos/rulepacks``)."""
    if directory is None:
        return _packaged_rulebook()
    return _load_rulebook(directory)


@functools.cache
def _packaged_rulebook() -> RuleBook:
    """The packs shipped with Custos: read once per process (they are immutable data, and
    every container a process bootstraps — each test's among them — would read them again)."""
    return _load_rulebook(resources.files("custos.rulepacks"))


def _load_rulebook(folder: Path | Traversable) -> RuleBook:
    files = sorted((f for f in folder.iterdir() if f.name.endswith(".yaml")), key=lambda f: f.name)
    if not files:
        raise RuleBookInvalid(f"no rule packs (*.yaml) in {folder}")
    return RuleBook(load_rulepack(f) for f in files)


def load_rulepack(file: Path | Traversable) -> model.RulePack:
    """One pack file; its id must match the file name (``beijing-2007.yaml``)."""
    text = file.read_text(encoding="utf-8")
    try:
        _refuse_duplicate_keys(yaml.compose(text, Loader=_LOADER), file.name)
        document = yaml.load(text, Loader=_LOADER)  # noqa: S506 - a safe loader
    except yaml.YAMLError as exc:
        raise RulePackInvalid(file.name, "", f"not valid YAML: {exc}") from None
    pack = parse_rulepack(document, file.name)
    if f"{pack.id}.yaml" != file.name:
        raise RulePackInvalid(file.name, "id", f"{pack.id!r} does not match the file name")
    return pack


def _refuse_duplicate_keys(node: yaml.Node | None, source: str, path: str = "") -> None:
    """safe_load keeps the last of two equal keys silently; a pack must not have any."""
    if isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _refuse_duplicate_keys(item, source, f"{path}[{i}]")
    if not isinstance(node, yaml.MappingNode):
        return
    seen: set[str] = set()
    for key, value in node.value:
        where = f"{path}.{key.value}".lstrip(".")
        if key.value in seen:
            raise RulePackInvalid(source, where, f"duplicate key (line {key.start_mark.line + 1})")
        seen.add(key.value)
        _refuse_duplicate_keys(value, source, where)


def parse_rulepack(document: object, source: str) -> model.RulePack:
    """A pack from an already parsed YAML document; ``source`` names it in errors."""
    id_node = _Node(document, "", source, "").fields(_PACK_KEYS, _OPTIONAL_PACK_KEYS)["id"]
    pack_id = id_node.text()
    if not is_pack_id(pack_id):
        raise id_node.fail(f"{pack_id!r} is not a pack id like 'beijing-2007'")
    top = _Node(document, "", source, pack_id).fields(_PACK_KEYS, _OPTIONAL_PACK_KEYS)
    parent = top["parent"].optional(_Node.text)
    return model.RulePack(
        id=pack_id,
        name_zh=top["name_zh"].text(),
        name_en=top["name_en"].text(),
        instrument=top["instrument"].text(),
        effective_date=top["effective_date"].day(),
        parent=parent,
        applies_to=tuple(_prefix(n) for n in top["applies_to"].items()),
        source_file=top["source_file"].text(),
        notes=tuple(n.text() for n in top["notes"].items()),
        retention=_retention(top["retention"]),
        filing=tuple(_filing(n) for n in top["filing"].items()),
        acceptance_before_use=top["acceptance_before_use"].optional(_Node.cite),
        preexisting_upgrade=top["preexisting_upgrade"].optional(_upgrade),
        access=_access(top["access"]),
        mandatory_categories=_categories(top["mandatory_categories"], CategoryKind.MANDATORY),
        prohibited_categories=_categories(top["prohibited_categories"], CategoryKind.PROHIBITED),
        public_area=_public_area(top["public_area"]),
        signage=top["signage"].optional(_signage),
        network=_network(top["network"]),
        penalties=tuple(_penalty(n) for n in top["penalties"].items()),
        deferred_penalties=tuple(_deferred(n, parent) for n in top["deferred_penalties"].items()),
        site_exemptions=tuple(_exemption(n) for n in top["site_exemptions"].items()),
        operating=_operating(top["operating"]),
        publication=top["publication"].optional(_publication),
    )


class _Node:
    """A value in a pack document, with its key path for error messages."""

    def __init__(self, value: object, path: str, source: str, pack_id: str) -> None:
        self.value = value
        self.path = path
        self.source = source
        self.pack_id = pack_id

    def fail(self, reason: str) -> RulePackInvalid:
        return RulePackInvalid(self.source, self.path, reason)

    def child(self, value: object, key: str | int) -> _Node:
        path = f"{self.path}[{key}]" if isinstance(key, int) else f"{self.path}.{key}"
        return _Node(value, path.lstrip("."), self.source, self.pack_id)

    def fields(
        self, required: set[str], optional: frozenset[str] = frozenset()
    ) -> dict[str, _Node]:
        if not isinstance(self.value, dict):
            raise self.fail("expected a mapping")
        for key in self.value:
            if key not in required | optional:
                raise self.child(None, str(key)).fail("unknown key")
        for key in sorted(required):
            if key not in self.value:
                raise self.child(None, key).fail("missing required key")
        return {k: self.child(self.value.get(k), k) for k in required | optional}

    def entries(self) -> Iterator[tuple[str, _Node]]:
        if not isinstance(self.value, dict):
            raise self.fail("expected a mapping")
        for key, value in self.value.items():
            yield str(key), self.child(value, str(key))

    def items(self) -> list[_Node]:
        if not isinstance(self.value, list):
            raise self.fail("expected a list")
        return [self.child(value, i) for i, value in enumerate(self.value)]

    def optional(self, parse: Callable[[_Node], T]) -> T | None:
        return None if self.value is None else parse(self)

    def text(self) -> str:
        if not isinstance(self.value, str) or not self.value.strip():
            raise self.fail("expected a non-empty string")
        return self.value

    def number(self) -> int:
        if isinstance(self.value, bool) or not isinstance(self.value, int) or self.value < 0:
            raise self.fail("expected a whole number, 0 or more")
        return self.value

    def flag(self) -> bool:
        if not isinstance(self.value, bool):
            raise self.fail("expected true or false")
        return self.value

    def day(self) -> date:
        if isinstance(self.value, date):
            return self.value
        try:
            return date.fromisoformat(self.text())
        except ValueError:
            raise self.fail("expected a date YYYY-MM-DD") from None

    def choice(self, kind: type[E]) -> E:
        try:
            return kind(self.value)
        except ValueError:
            allowed = ", ".join(str(m.value) for m in kind)
            raise self.fail(f"{self.value!r} is not one of: {allowed}") from None

    def choices(self, kind: type[E]) -> frozenset[E]:
        return frozenset(n.choice(kind) for n in self.items())

    def cite(self, pack_id: str | None = None) -> Citation:
        try:
            citation = Citation.parse(self.text())
        except ValidationFailed as exc:
            raise self.fail(str(exc.errors[0].reason)) from None
        expected = pack_id or self.pack_id
        if citation.pack_id != expected:
            raise self.fail(f"{citation.rule_id} must cite an article of {expected}")
        return citation

    def cites(self) -> tuple[Citation, ...]:
        if isinstance(self.value, list):
            found = tuple(n.cite() for n in self.items())
            if not found:
                raise self.fail("expected at least one citation")
            return found
        return (self.cite(),)


def _prefix(node: _Node) -> str:
    text = node.text()
    if text != "*" and not (text.isascii() and text.isdigit() and 2 <= len(text) <= 6):
        raise node.fail("expected '*' or a division-code prefix of 2 to 6 digits")
    return text


def _retention(node: _Node) -> model.RetentionRule:
    f = node.fields({"min_days", "default_days", "cite", "important_footage_years", "note"})
    rule = model.RetentionRule(
        min_days=f["min_days"].optional(_Node.number),
        default_days=f["default_days"].optional(_Node.number),
        citation=f["cite"].cite(),
        important_footage_years=f["important_footage_years"].optional(_Node.number),
        note=f["note"].optional(_Node.text),
    )
    if (rule.min_days is None) == (rule.default_days is None):
        raise node.fail("give exactly one of min_days (law) and default_days (product default)")
    return rule


def _deadline(node: _Node, fields: dict[str, _Node]) -> model.DeadlineRule | None:
    given = {key for key, value in fields.items() if value.value is not None}
    if "promptly" in given:
        if given & {"days", "working_days"} or not fields["promptly"].flag():
            raise node.fail("'promptly: true' stands alone, without days or working_days")
        return None
    if "days" not in given:
        raise node.fail("give days (a number) or 'promptly: true'")
    working = "working_days" in given and fields["working_days"].flag()
    days = fields["days"].number()
    if days < 1:
        raise fields["days"].fail("a deadline needs at least one day")
    return model.DeadlineRule(days, working)


def _filing(node: _Node) -> model.FilingRule:
    optional = frozenset({"days", "working_days", "promptly", "note", "preexisting_if"})
    f = node.fields({"trigger", "cite"}, optional)
    trigger = f["trigger"].choice(terms.FilingTrigger)
    deadline = _deadline(node, f)
    preexisting_if = f["preexisting_if"].optional(lambda n: n.choice(terms.Milestone))
    if (trigger is terms.FilingTrigger.PREEXISTING) != (preexisting_if is not None):
        raise node.fail("preexisting_if is required for trigger 'preexisting' and only there")
    initial = {
        terms.FilingTrigger.PREEXISTING,
        terms.FilingTrigger.AFTER_ACCEPTANCE,
        terms.FilingTrigger.AFTER_IN_USE,
    }
    if trigger in initial and (deadline is None or deadline.working_days):
        raise node.fail("an initial filing deadline must be a number of calendar days")
    note = f["note"].optional(_Node.text)
    return model.FilingRule(trigger, deadline, f["cite"].cite(), note, preexisting_if)


def _upgrade(node: _Node) -> model.Cited[model.DeadlineRule]:
    f = node.fields({"days", "cite"})
    deadline = _deadline(node, f)
    assert deadline is not None  # "promptly" is not an accepted key here
    return model.Cited(deadline, f["cite"].cite())


def _access(node: _Node) -> model.AccessRules:
    f = node.fields(
        {"min_handlers", "credentials", "approval_document", "approvers", "entitlements",
         "registration", "registration_form", "scope_limited_to_duty"}
    )  # fmt: skip
    return model.AccessRules(
        min_handlers=f["min_handlers"].optional(_cited_number),
        credentials=f["credentials"].optional(_credentials),
        approval_documents=tuple(_approval(key, n) for key, n in f["approval_document"].entries()),
        approvers=tuple(_approver(n) for n in f["approvers"].items()),
        entitlements=tuple(_entitlement(n) for n in f["entitlements"].items()),
        registration=f["registration"].optional(_Node.cite),
        registration_form=f["registration_form"].optional(_Node.cite),
        scope_limited_to_duty=f["scope_limited_to_duty"].optional(_Node.cite),
    )


def _cited_number(node: _Node) -> model.Cited[int]:
    f = node.fields({"value", "cite"})
    return model.Cited(f["value"].number(), f["cite"].cite())


def _credentials(node: _Node) -> model.Cited[frozenset[terms.Credential]]:
    f = node.fields({"items", "cite"})
    return model.Cited(f["items"].choices(terms.Credential), f["cite"].cite())


def _approval(action: str, node: _Node) -> model.ApprovalDocumentRule:
    f = node.fields({"required", "cite"})
    kind = _Node(action, node.path, node.source, node.pack_id).choice(AccessAction)
    return model.ApprovalDocumentRule(kind, f["required"].flag(), f["cite"].cite())


def _approver(node: _Node) -> model.ApproverRule:
    f = node.fields({"requesters", "operations", "approver", "cite"}, frozenset({"condition"}))
    return model.ApproverRule(
        requesters=f["requesters"].choices(terms.RequesterKind),
        operations=f["operations"].choices(terms.AccessOperation),
        approver=f["approver"].optional(lambda n: n.choice(terms.ApproverRole)),
        citation=f["cite"].cite(),
        condition=f["condition"].optional(_Node.text),
    )


def _entitlement(node: _Node) -> model.AccessEntitlement:
    required = {"requesters", "operations", "emergency_only", "cite"}
    f = node.fields(required, frozenset({"condition"}))
    return model.AccessEntitlement(
        requesters=f["requesters"].choices(terms.RequesterKind),
        operations=f["operations"].choices(terms.AccessOperation),
        emergency_only=f["emergency_only"].flag(),
        citation=f["cite"].cite(),
        condition=f["condition"].optional(_Node.text),
    )


def _categories(node: _Node, kind: CategoryKind) -> tuple[model.CategoryRule, ...]:
    rules = []
    for key, value in node.entries():
        if not is_kind(key, kind):
            raise value.fail(f"unknown {kind.value} category key")
        if key in CATEGORY_GROUPS:
            raise value.fail("a composite key; name its sub-keys instead")
        rules.append(model.CategoryRule(key, value.cites()))
    return tuple(rules)


def _public_area(node: _Node) -> model.PublicAreaRules:
    f = node.fields({"government_only", "outside_capture"})
    return model.PublicAreaRules(
        government_only=f["government_only"].optional(_government_only),
        outside_capture=f["outside_capture"].optional(_outside_capture),
    )


def _government_only(node: _Node) -> model.GovernmentOnlyRule:
    f = node.fields({"cite", "also_cite", "scope"})
    also = tuple(n.cite() for n in f["also_cite"].items())
    return model.GovernmentOnlyRule(
        f["cite"].cite(), also, f["scope"].choices(terms.PlacementScope)
    )


def _outside_capture(node: _Node) -> model.Cited[terms.OutsideCaptureStance]:
    f = node.fields({"stance", "cite"})
    return model.Cited(f["stance"].choice(terms.OutsideCaptureStance), f["cite"].cite())


def _signage(node: _Node) -> model.SignageRule:
    f = node.fields({"conspicuous", "scope", "cite"})
    conspicuous = f["conspicuous"].optional(_Node.flag)
    return model.SignageRule(conspicuous, f["scope"].choice(terms.SignageScope), f["cite"].cite())


def _publication(node: _Node) -> model.PublicationRule:
    f = node.fields({"mask", "cite"})
    mask = f["mask"].choices(terms.MaskTarget)
    if not mask:
        raise f["mask"].fail("expected at least one thing to mask")
    return model.PublicationRule(mask, f["cite"].cite())


def _network(node: _Node) -> model.NetworkRules:
    f = node.fields(
        {"classified_no_internet", "max_interruption_days"}, frozenset({"reserved_interface"})
    )
    return model.NetworkRules(
        classified_no_internet=f["classified_no_internet"].optional(_classified),
        max_interruption_days=f["max_interruption_days"].optional(_cited_number),
        reserved_interface=f["reserved_interface"].optional(_Node.cite),
    )


def _classified(node: _Node) -> model.ClassifiedNetworkRule:
    f = node.fields({"cite", "also_cite", "express"})
    also = tuple(n.cite() for n in f["also_cite"].items())
    return model.ClassifiedNetworkRule(f["cite"].cite(), also, f["express"].flag())


def _penalty(node: _Node) -> model.Penalty:
    required = {"cite", "violates", "violation_key", "trigger", "warning", "fine", "measures"}
    f = node.fields(required, frozenset({"note"}))
    fine = f["fine"].fields(set(_FINE_KEYS))
    amounts = {key: fine[key].optional(_Node.number) for key in _FINE_KEYS}
    return model.Penalty(
        citation=f["cite"].cite(),
        violates=tuple(n.cite() for n in f["violates"].items()),
        violation_key=f["violation_key"].choice(terms.ViolationKey),
        trigger=f["trigger"].optional(lambda n: n.choice(terms.PenaltyTrigger)),
        warning=f["warning"].flag(),
        fine=model.FineRange(**amounts),
        measures=tuple(n.text() for n in f["measures"].items()),
        note=f["note"].optional(_Node.text),
    )


def _deferred(node: _Node, parent: str | None) -> model.DeferredPenalty:
    if parent is None:
        raise node.fail("only a pack with a parent can defer to the parent's penalties")
    f = node.fields({"obligation", "penalty"})
    return model.DeferredPenalty(f["obligation"].cite(), f["penalty"].cite(parent))


def _exemption(node: _Node) -> model.SiteExemption:
    f = node.fields({"site_articles", "cite", "exempt"})
    return model.SiteExemption(
        site_articles=f["site_articles"].choices(PublicPlaceArticle),
        exempt=tuple(n.cite() for n in f["exempt"].items()),
        citation=f["cite"].cite(),
    )


def _operating(node: _Node) -> model.OperatingRules:
    f = node.fields(
        {"duty_monitoring", "report_suspicious", "room_access", "staff_archive", "training",
         "inspection_maintenance", "restore_after_fault", "keep_location_and_function",
         "entrustment_agreement", "assessment", "emergency_plan"}
    )  # fmt: skip
    return model.OperatingRules(
        duty_monitoring=f["duty_monitoring"].optional(_Node.cite),
        report_suspicious=f["report_suspicious"].optional(_report_suspicious),
        room_access=f["room_access"].optional(_room_access),
        staff_archive=f["staff_archive"].optional(_Node.cite),
        training=f["training"].optional(_training),
        inspection_maintenance=f["inspection_maintenance"].optional(_Node.cite),
        restore_after_fault=f["restore_after_fault"].optional(_Node.cite),
        keep_location_and_function=f["keep_location_and_function"].optional(_Node.cite),
        entrustment_agreement=f["entrustment_agreement"].optional(_Node.cite),
        assessment=f["assessment"].optional(_Node.cite),
        emergency_plan=f["emergency_plan"].optional(_Node.cite),
    )


def _report_suspicious(node: _Node) -> model.Cited[terms.ReportUrgency]:
    f = node.fields({"urgency", "cite"})
    return model.Cited(f["urgency"].choice(terms.ReportUrgency), f["cite"].cite())


def _room_access(node: _Node) -> model.Cited[terms.RoomAccessBan]:
    f = node.fields({"ban", "cite"})
    return model.Cited(f["ban"].choice(terms.RoomAccessBan), f["cite"].cite())


def _training(node: _Node) -> model.Cited[frozenset[terms.TrainingContent]]:
    f = node.fields({"contents", "cite"})
    contents = f["contents"].choices(terms.TrainingContent)
    if not contents:
        raise f["contents"].fail("name at least one training content")
    return model.Cited(contents, f["cite"].cite())
