"""Enumerations shared across the domain: the words the regulations use, as code keys."""

from __future__ import annotations

import enum


class UnitKind(enum.StrEnum):
    """What kind of legal person or individual a unit (使用单位 / 建设单位) is."""

    GOVERNMENT_ORGAN = "government_organ"
    ENTERPRISE = "enterprise"
    INSTITUTION = "institution"
    INDIVIDUAL = "individual"


class PublicPlaceArticle(enum.StrEnum):
    """Which Decree 799 article governs a site's cameras.

    * ``art7_p1`` — roads, bridges, tunnels, squares…: built by county-level-or-higher government.
    * ``art7_p2`` — places of public gathering, transport hubs, public transport, service areas:
      built by the unit with operating-management responsibility.
    * ``art9`` — any other public place: only the unit with the security duty for it.
    * ``not_public`` — not a public place (Decree 799 art. 33).
    """

    ART7_P1 = "art7_p1"
    ART7_P2 = "art7_p2"
    ART9 = "art9"
    NOT_PUBLIC = "not_public"


class LifecycleState(enum.StrEnum):
    """A camera's lifecycle, in the order the regulations walk it."""

    PLANNED = "planned"
    DESIGN_REVIEWED = "design_reviewed"
    BUILT = "built"
    ACCEPTED = "accepted"
    IN_SERVICE = "in_service"
    CHANGED = "changed"
    RELOCATED = "relocated"
    REMOVED = "removed"


class AccessAction(enum.StrEnum):
    """Access operations (obligations.md §A.3, §8 A-08)."""

    VIEW = "view"
    COPY = "copy"
    RETRIEVE = "retrieve"


class Severity(enum.StrEnum):
    INFO = "info"
    WARNING = "warning"
    VIOLATION = "violation"
    CRITICAL = "critical"
