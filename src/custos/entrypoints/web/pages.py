"""Page routes. Each declares its permission with ``needs(Permission.X)``, as API routes do;
pages carry only the layout and the forms, and their scripts read the data from the REST API."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape

from custos.domain import codes
from custos.domain.access import Permission
from custos.domain.access_requests import EmergencyKind, RequestState
from custos.domain.alarms import Severity as AlarmSeverity
from custos.domain.duty import ReportChannel
from custos.domain.errors import AuthenticationFailed, SignInThrottled
from custos.domain.holds import HoldKind, HoldState
from custos.domain.kinds import AccessAction, LifecycleState, PublicPlaceArticle, UnitKind
from custos.domain.masking import MaskMode
from custos.domain.register import RegisterKind
from custos.domain.rules.categories import CATEGORY_KEYS, CategoryKind
from custos.domain.rules.terms import Credential, MaskTarget, RequesterKind, TrainingContent
from custos.domain.staff import StaffRole
from custos.domain.users import Principal
from custos.entrypoints.api.deps import Caller, ContainerDep, client_address, needs
from custos.entrypoints.web.i18n import LANGUAGES, Translator
from custos.entrypoints.web.origin import same_origin
from custos.entrypoints.web.paths import LANG_COOKIE, SESSION_COOKIE, TEMPLATES_DIR, UI_PREFIX

router = APIRouter(include_in_schema=False)
_env = Environment(
    loader=FileSystemLoader(TEMPLATES_DIR),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)
Self_ = Annotated[Caller, needs(Permission.SELF)]


@dataclass(frozen=True)
class NavItem:
    href: str
    key: str
    permission: Permission


NAV = (
    NavItem(f"{UI_PREFIX}/", "nav.dashboard", Permission.SELF),
    NavItem(f"{UI_PREFIX}/wall", "nav.wall", Permission.LIVE_VIEW),
    NavItem(f"{UI_PREFIX}/playback", "nav.playback", Permission.FOOTAGE_SESSION),
    NavItem(f"{UI_PREFIX}/registry", "nav.registry", Permission.REGISTRY_READ),
    NavItem(f"{UI_PREFIX}/requests", "nav.requests", Permission.SELF),
    NavItem(f"{UI_PREFIX}/register", "nav.register", Permission.REGISTER_READ),
    NavItem(f"{UI_PREFIX}/audit", "nav.audit", Permission.AUDIT_READ),
    NavItem(f"{UI_PREFIX}/holds", "nav.holds", Permission.HOLD_MANAGE),
    NavItem(f"{UI_PREFIX}/alarms", "nav.alarms", Permission.ALARM_READ),
    NavItem(f"{UI_PREFIX}/diagnosis", "nav.diagnosis", Permission.ALARM_READ),
    NavItem(f"{UI_PREFIX}/notify", "nav.notify", Permission.NOTIFY_MANAGE),
    NavItem(f"{UI_PREFIX}/onvif", "nav.onvif", Permission.ONVIF_ONBOARD),
    NavItem(f"{UI_PREFIX}/cascade", "nav.cascade", Permission.REGISTRY_READ),
    NavItem(f"{UI_PREFIX}/gb", "nav.gb", Permission.REGISTRY_READ),
    NavItem(f"{UI_PREFIX}/duty", "nav.duty", Permission.DUTY_READ),
    NavItem(f"{UI_PREFIX}/operations", "nav.operations", Permission.DUTY_READ),
    NavItem(f"{UI_PREFIX}/publication", "nav.publication", Permission.PUBLICATION_REVIEW),
    NavItem(f"{UI_PREFIX}/supervision", "nav.supervision", Permission.SUPERVISE),
    NavItem(f"{UI_PREFIX}/filing", "nav.filing", Permission.BASE_INFO_READ),
    NavItem(f"{UI_PREFIX}/cluster", "nav.cluster", Permission.CLUSTER_READ),
)


def translator(request: Request) -> Translator:
    return Translator(request.cookies.get(LANG_COOKIE, ""))


def _enums(t: Translator) -> dict[str, list[tuple[str, str]]]:
    """Choices for the forms, labelled from the catalogue (category labels from the rules)."""

    def opts(prefix: str, values: Any) -> list[tuple[str, str]]:
        return [(v.value, t(f"{prefix}.{v.value}")) for v in values]

    zh = t.lang == "zh_CN"
    return {
        "unit_kind": opts("enum.unit_kind", UnitKind),
        "article": opts("enum.article", PublicPlaceArticle),
        "lifecycle": opts("enum.lifecycle", LifecycleState),
        "action": opts("enum.action", AccessAction),
        "requester_kind": opts("enum.requester_kind", RequesterKind),
        "credential": opts("enum.credential", Credential),
        "emergency": opts("enum.emergency", EmergencyKind),
        "mask_target": opts("enum.mask_target", MaskTarget),
        "mask_mode": opts("enum.mask_mode", MaskMode),
        "request_state": opts("enum.request_state", RequestState),
        "register_kind": opts("enum.register_kind", RegisterKind),
        "hold_kind": opts("enum.hold_kind", HoldKind),
        "hold_state": opts("enum.hold_state", HoldState),
        "severity": opts("enum.severity", AlarmSeverity),
        "mandatory_categories": [
            (k, i.label_zh if zh else i.label_en)
            for k, i in CATEGORY_KEYS.items()
            if i.kind is CategoryKind.MANDATORY
        ],
        "prohibited_categories": [
            (k, i.label_zh if zh else i.label_en)
            for k, i in CATEGORY_KEYS.items()
            if i.kind is CategoryKind.PROHIBITED
        ],
    }


def render(
    request: Request,
    template: str,
    caller: Caller | None = None,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    t = translator(request)
    who: Principal | None = caller.principal if caller else None
    me: dict[str, Any] | None = None
    if caller is not None and who is not None:
        me = {
            "id": who.user_id,
            "username": who.username,
            "full_name": who.full_name,
            "role": who.role.value if who.role else None,
            "unit_id": who.unit_id,
            "permissions": sorted(p.value for p in Permission if who.can(p)),
            "expires_at": caller.session.expires_at.isoformat(),
        }
    nav = [n for n in NAV if who is not None and who.can(n.permission)]
    html = _env.get_template(template).render(
        t=t,
        lang=t.lang,
        languages=LANGUAGES,
        me=me,
        me_json=json.dumps(me, ensure_ascii=False).replace("<", "\\u003c"),
        nav=nav,
        path=request.url.path,
        ui=UI_PREFIX,
        enums=_enums(t),
        **context,
    )
    return HTMLResponse(html, status_code=status_code)


def forbidden_page(request: Request) -> HTMLResponse:
    return render(request, "forbidden.html", None, status_code=403)


def _code_tables() -> str:
    """The GB/T 28181 and GB/T 2260 tables the camera form decodes a device code with, from
    ``domain.codes`` (the one source), as JSON safe inside a <script> element."""
    tables = {
        "provinces": codes.PROVINCES,
        "industries": codes.INDUSTRY_CODES,
        "types": codes.TYPE_CODES,
        "type_ranges": codes.TYPE_CODE_RANGES,
        "video_types": sorted(codes.RECORDABLE_TYPE_CODES),
        "networks": {str(d): codes.NetworkKind.from_digit(d).value for d in range(10)},
    }
    return json.dumps(tables, ensure_ascii=False).replace("<", "\\u003c")


# ---- public: the root, signing in ----------------------------------------------------------
@router.get("/")
def root() -> RedirectResponse:
    return RedirectResponse(f"{UI_PREFIX}/", status_code=303)


def _safe_next(target: str | None) -> str:
    if target and target.startswith(UI_PREFIX + "/") and "//" not in target and "\\" not in target:
        return target
    return f"{UI_PREFIX}/"


@router.get(f"{UI_PREFIX}/login")
def login_page(request: Request, next: str | None = None, expired: int = 0) -> HTMLResponse:
    notice = "login.expired" if expired else None
    return render(request, "login.html", None, next=_safe_next(next), notice=notice, error=None)


@router.post(f"{UI_PREFIX}/login")
def login(
    request: Request,
    c: ContainerDep,
    username: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=1024)],
    next: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """Public: sign in and keep the API token in an HttpOnly, SameSite=Strict cookie."""
    t = translator(request)
    target = _safe_next(next)
    if not same_origin(list(request.scope["headers"])):
        return render(
            request, "login.html", None, 403, next=target, notice=None, error=t("login.cross_site")
        )
    try:
        issued = c.auth.login(username, password, source=client_address(request))
    except SignInThrottled as exc:
        until = exc.until.astimezone().strftime("%Y-%m-%d %H:%M:%S")
        error = t("login.locked", until=until)
        return render(
            request, "login.html", None, 429, next=target, notice=None, error=error, locked=True
        )
    except AuthenticationFailed:
        return render(
            request, "login.html", None, 401, next=target, notice=None, error=t("login.failed")
        )
    response = RedirectResponse(target, status_code=303)
    max_age = int((issued.expires_at - c.clock.now()).total_seconds())
    response.set_cookie(
        SESSION_COOKIE,
        issued.token,
        max_age=max(max_age, 0),
        path="/",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    return response


@router.post(f"{UI_PREFIX}/logout")
def logout(caller: Self_, c: ContainerDep) -> Response:
    """Revoke the session and drop the cookie (called by the page's script)."""
    c.auth.logout(caller.principal, caller.session)
    response = Response(status_code=204)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


# ---- pages --------------------------------------------------------------------------------
@router.get(f"{UI_PREFIX}/")
def dashboard(request: Request, caller: Self_) -> HTMLResponse:
    return render(request, "dashboard.html", caller)


@router.get(f"{UI_PREFIX}/wall")
def wall(request: Request, caller: Annotated[Caller, needs(Permission.LIVE_VIEW)]) -> HTMLResponse:
    return render(request, "wall.html", caller)


@router.get(f"{UI_PREFIX}/playback")
def playback(
    request: Request, caller: Annotated[Caller, needs(Permission.FOOTAGE_SESSION)]
) -> HTMLResponse:
    return render(request, "playback.html", caller)


@router.get(f"{UI_PREFIX}/registry")
def registry(
    request: Request, caller: Annotated[Caller, needs(Permission.REGISTRY_READ)]
) -> HTMLResponse:
    return render(request, "registry.html", caller, code_tables=_code_tables())


@router.get(f"{UI_PREFIX}/requests")
def requests_page(request: Request, caller: Self_) -> HTMLResponse:
    return render(request, "requests.html", caller)


@router.get(f"{UI_PREFIX}/register")
def register(
    request: Request, caller: Annotated[Caller, needs(Permission.REGISTER_READ)]
) -> HTMLResponse:
    return render(request, "register.html", caller)


@router.get(f"{UI_PREFIX}/audit")
def audit(
    request: Request, caller: Annotated[Caller, needs(Permission.AUDIT_READ)]
) -> HTMLResponse:
    return render(request, "audit.html", caller)


@router.get(f"{UI_PREFIX}/holds")
def holds(
    request: Request, caller: Annotated[Caller, needs(Permission.HOLD_MANAGE)]
) -> HTMLResponse:
    return render(request, "holds.html", caller)


@router.get(f"{UI_PREFIX}/alarms")
def alarms(
    request: Request, caller: Annotated[Caller, needs(Permission.ALARM_READ)]
) -> HTMLResponse:
    return render(request, "alarms.html", caller)


@router.get(f"{UI_PREFIX}/diagnosis")
def diagnosis(
    request: Request, caller: Annotated[Caller, needs(Permission.ALARM_READ)]
) -> HTMLResponse:
    """Video quality diagnosis of a camera: reference and latest sample, faults, references."""
    return render(request, "diagnosis.html", caller)


@router.get(f"{UI_PREFIX}/duty")
def duty(request: Request, caller: Annotated[Caller, needs(Permission.DUTY_READ)]) -> HTMLResponse:
    """The duty page: sign on and hand over, the duty log, reports to the police, the room's
    access register; for unit managers, rooms, shifts and the rota."""
    t = translator(request)
    channels = [(c.value, t(f"enum.report_channel.{c.value}")) for c in ReportChannel]
    return render(request, "duty.html", caller, report_channels=channels)


@router.get(f"{UI_PREFIX}/operations")
def operations(
    request: Request, caller: Annotated[Caller, needs(Permission.DUTY_READ)]
) -> HTMLResponse:
    """The operating records: staff archive, trainings, work orders, plans and drills."""
    t = translator(request)
    roles = [(r.value, t(f"enum.staff_role.{r.value}")) for r in StaffRole]
    contents = [(c.value, t(f"enum.training_content.{c.value}")) for c in TrainingContent]
    return render(request, "operations.html", caller, staff_roles=roles, training_contents=contents)


@router.get(f"{UI_PREFIX}/cascade")
def cascade(
    request: Request, caller: Annotated[Caller, needs(Permission.REGISTRY_READ)]
) -> HTMLResponse:
    """GB/T 28181 cascade: upper platforms, their link state, the share lists."""
    return render(request, "cascade.html", caller)


@router.get(f"{UI_PREFIX}/gb")
def gb_devices(
    request: Request, caller: Annotated[Caller, needs(Permission.REGISTRY_READ)]
) -> HTMLResponse:
    """GB/T 28181 devices: the allow-list, each device's channels (placed as cameras here) and
    its last DeviceInfo / DeviceStatus."""
    return render(request, "gb.html", caller, code_tables=_code_tables())


@router.get(f"{UI_PREFIX}/onvif")
def onvif(
    request: Request, caller: Annotated[Caller, needs(Permission.ONVIF_ONBOARD)]
) -> HTMLResponse:
    """ONVIF onboarding: discover, then accept or dismiss each proposal."""
    return render(request, "onvif.html", caller)


@router.get(f"{UI_PREFIX}/notify")
def notify(
    request: Request, caller: Annotated[Caller, needs(Permission.NOTIFY_MANAGE)]
) -> HTMLResponse:
    """Alarm delivery: the unit's channels and escalation rota."""
    return render(request, "notify.html", caller)


@router.get(f"{UI_PREFIX}/publication")
def publication(
    request: Request, caller: Annotated[Caller, needs(Permission.PUBLICATION_REVIEW)]
) -> HTMLResponse:
    """Review of masked copies for publication: the cases, a frame with its boxes, regions and
    static zones, confirmation, approval, release and the signed package."""
    return render(request, "publication.html", caller)


@router.get(f"{UI_PREFIX}/supervision")
def supervision(
    request: Request, caller: Annotated[Caller, needs(Permission.SUPERVISE)]
) -> HTMLResponse:
    """The bureau's supervision console (docs/design/filing.md D5, D6): the division tree from
    the supervisor's jurisdiction, the overview, filings to review, inspections, rectification
    notices, the league table and the map of the sites."""
    return render(
        request, "supervision.html", caller, jurisdiction=caller.principal.jurisdiction or ""
    )


@router.get(f"{UI_PREFIX}/filing")
def filing(
    request: Request, caller: Annotated[Caller, needs(Permission.BASE_INFO_READ)]
) -> HTMLResponse:
    """The unit's filing with the police: per site the filing profile, the package preview with
    its missing parts, the filing cases (submit, downloads, paper decision) and the unit's
    rectification notices (docs/design/filing.md); read only without ``filing.write``."""
    return render(request, "filing.html", caller)


@router.get(f"{UI_PREFIX}/cluster")
def cluster(
    request: Request, caller: Annotated[Caller, needs(Permission.CLUSTER_READ)]
) -> HTMLResponse:
    """The cluster's status (docs/design/cluster.md): recorder nodes and their leases, cameras
    no live node records, offload lag, refused segments, who runs the timed duties."""
    return render(request, "cluster.html", caller)
