"""Roles and the permissions they carry. Deny by default: a role has only what is listed."""

from __future__ import annotations

import enum


class Permission(enum.StrEnum):
    REGISTRY_READ = "registry.read"
    REGISTRY_WRITE = "registry.write"
    CAMERA_MANAGE = "camera.manage"
    BASE_INFO_READ = "base_info.read"  # address code, install position, design (Chongqing art. 22)
    FILING_WRITE = "filing.write"
    COMPLIANCE_READ = "compliance.read"
    RULES_READ = "rules.read"
    USERS_MANAGE = "users.manage"
    AUDIT_READ = "audit.read"
    LIVE_VIEW = "live.view"
    PLAYBACK = "playback"
    EXPORT = "export"
    RETRIEVE = "retrieve"
    PTZ = "ptz"
    APPROVE = "approve"
    SUPERVISE = "supervise"
    REQUEST_FILE = "request.file"  # an authority files and executes access requests
    REQUEST_READ = "request.read"  # read requests filed by others (approvers, supervision)
    FOOTAGE_SESSION = "footage.session"  # read footage through a session one holds
    REGISTER_READ = "register.read"  # the registration register (登记)
    HOLD_MANAGE = "hold.manage"  # evidence holds: create, extend, ask or approve release
    FOOTAGE_DELETE = "footage.delete"  # ask to delete footage (refused inside retention)
    STORAGE_READ = "storage.read"  # retention policies, storage projection, alarms
    ALARM_HANDLE = "alarm.handle"  # acknowledge and resolve the alarms one may see
    FOOTAGE_IMPORT = "footage.import"  # bring a legacy recorder's footage in (admin only)
    ALARM_READ = "alarm.read"  # see the alarms of the cameras in one's reach, and the accounting
    NOTIFY_MANAGE = "notify.manage"  # alarm delivery: channels, the escalation rota
    DIAGNOSIS_MANAGE = "diagnosis.manage"  # thresholds; propose and approve reference snapshots
    ONVIF_ONBOARD = "onvif.onboard"  # discover cameras, accept proposals, set camera clocks
    DUTY_READ = "duty.read"  # the unit's duty, room, staff, training and maintenance records
    DUTY_WRITE = "duty.write"  # sign on, hand over, the duty log, reports, room entries, orders
    DUTY_MANAGE = "duty.manage"  # rota, staff archive, trainings, schedules, contractors, plans
    # review the masking of a copy for public dissemination and release it (Decree 799 art. 22)
    PUBLICATION_REVIEW = "publication.review"
    # answer a rectification notice (整改通知) the bureau sent one's unit (docs/design/filing.md D7)
    RECTIFY = "rectification.respond"
    # register the unit systems whose signed checkpoints the bureau keeps (docs/design/evidence.md)
    WITNESS_MANAGE = "witness.manage"
    # the recorder nodes, their leases and offload lag, who runs the timed duties (issue 16)
    CLUSTER_READ = "cluster.read"
    SELF = "self"  # what every signed-in user may do about their own session


class Role(enum.StrEnum):
    ADMIN = "admin"
    UNIT_MANAGER = "unit_manager"
    OPERATOR = "operator"
    OFFICER = "officer"
    APPROVER = "approver"
    SUPERVISOR = "supervisor"
    AUDITOR = "auditor"


P = Permission
ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.ADMIN: frozenset(
        {
            P.REGISTRY_READ,
            P.REGISTRY_WRITE,
            P.CAMERA_MANAGE,
            P.BASE_INFO_READ,
            P.FILING_WRITE,
            P.RECTIFY,
            P.COMPLIANCE_READ,
            P.RULES_READ,
            P.USERS_MANAGE,
            P.AUDIT_READ,
            P.REQUEST_READ,
            P.REGISTER_READ,
            P.HOLD_MANAGE,
            P.FOOTAGE_DELETE,
            P.STORAGE_READ,
            P.ALARM_HANDLE,
            P.FOOTAGE_IMPORT,
            P.ALARM_READ,
            P.NOTIFY_MANAGE,
            P.DIAGNOSIS_MANAGE,
            P.ONVIF_ONBOARD,
            P.DUTY_READ,
            P.DUTY_MANAGE,
            P.WITNESS_MANAGE,
            P.CLUSTER_READ,
            P.SELF,
        }
    ),
    Role.UNIT_MANAGER: frozenset(
        {
            P.REGISTRY_READ,
            P.REGISTRY_WRITE,
            P.CAMERA_MANAGE,
            P.BASE_INFO_READ,
            P.FILING_WRITE,
            P.RECTIFY,
            P.COMPLIANCE_READ,
            P.RULES_READ,
            P.LIVE_VIEW,
            P.PLAYBACK,
            P.EXPORT,
            P.FOOTAGE_SESSION,
            P.REGISTER_READ,
            P.HOLD_MANAGE,
            P.STORAGE_READ,
            P.ALARM_HANDLE,
            P.ALARM_READ,
            P.NOTIFY_MANAGE,
            P.DIAGNOSIS_MANAGE,
            P.ONVIF_ONBOARD,
            P.PTZ,
            P.DUTY_READ,
            P.DUTY_WRITE,
            P.DUTY_MANAGE,
            P.PUBLICATION_REVIEW,
            P.SELF,
        }
    ),
    Role.OPERATOR: frozenset(
        {
            P.REGISTRY_READ,
            P.LIVE_VIEW,
            P.PLAYBACK,
            P.FOOTAGE_SESSION,
            P.RULES_READ,
            P.ALARM_READ,
            P.ALARM_HANDLE,
            P.PTZ,
            P.DUTY_READ,
            P.DUTY_WRITE,
            P.SELF,
        }
    ),
    Role.OFFICER: frozenset(
        {P.REGISTRY_READ, P.RULES_READ, P.REQUEST_FILE, P.FOOTAGE_SESSION, P.SELF}
    ),
    Role.APPROVER: frozenset(
        {P.REGISTRY_READ, P.RULES_READ, P.APPROVE, P.REQUEST_READ, P.PUBLICATION_REVIEW, P.SELF}
    ),
    Role.SUPERVISOR: frozenset(
        {
            P.REGISTRY_READ,
            P.BASE_INFO_READ,
            P.COMPLIANCE_READ,
            P.RULES_READ,
            P.SUPERVISE,
            P.WITNESS_MANAGE,
            P.AUDIT_READ,
            P.REQUEST_READ,
            P.REGISTER_READ,
            P.HOLD_MANAGE,
            P.STORAGE_READ,
            P.ALARM_HANDLE,
            P.ALARM_READ,
            P.DUTY_READ,
            P.CLUSTER_READ,
            P.SELF,
        }
    ),
    Role.AUDITOR: frozenset(
        {
            P.REGISTRY_READ,
            P.COMPLIANCE_READ,
            P.RULES_READ,
            P.AUDIT_READ,
            P.REQUEST_READ,
            P.REGISTER_READ,
            P.DUTY_READ,
            P.CLUSTER_READ,
            P.SELF,
        }
    ),
}

#: Roles whose reach is limited to one unit's sites and cameras.
UNIT_SCOPED_ROLES: frozenset[Role] = frozenset({Role.UNIT_MANAGER, Role.OPERATOR})


def permissions_of(role: Role) -> frozenset[Permission]:
    return ROLE_PERMISSIONS[role]
