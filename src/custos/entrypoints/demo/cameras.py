"""Register a demo unit, site and cameras through the registry service (idempotent)."""

from __future__ import annotations

from datetime import date

from custos.domain.kinds import LifecycleState, PublicPlaceArticle, UnitKind
from custos.domain.registry import Contact
from custos.domain.users import SYSTEM
from custos.services.registry import (
    CameraInput,
    LifecycleStep,
    RegistryService,
    SiteInput,
    UnitInput,
)

DEMO_CREDIT_CODE = "91350100M000100Y43"
DEMO_DIVISION = "110105"  # Beijing, Chaoyang
IN_SERVICE_PATH = (
    LifecycleState.DESIGN_REVIEWED,
    LifecycleState.BUILT,
    LifecycleState.ACCEPTED,
    LifecycleState.IN_SERVICE,
)


def demo_address_code(n: int) -> str:
    """The n-th demo camera's GB/T 28181 code: division 110105, type 132 (IP camera)."""
    return f"{DEMO_DIVISION}0000132{n:07d}"


def register_demo_cameras(
    registry: RegistryService, urls: list[str], on: date, sub_urls: list[str] | None = None
) -> list[int]:
    """Make sure a demo unit, site and one in-service camera per URL exist (with the sub stream
    of the same place in ``sub_urls``); return camera ids."""
    unit = next((u for u in registry.list_units(SYSTEM) if u.credit_code == DEMO_CREDIT_CODE), None)
    if unit is None:
        unit = registry.create_unit(
            SYSTEM,
            UnitInput(
                "Demo shopping mall",
                DEMO_CREDIT_CODE,
                UnitKind.ENTERPRISE,
                [Contact("Duty office", "010-00000000", "security")],
            ),
        )
    assert unit.id is not None
    sites = registry.list_sites(SYSTEM, unit.id)
    site = (
        sites[0]
        if sites
        else registry.create_site(
            SYSTEM,
            SiteInput(
                unit_id=unit.id,
                name="Demo mall, main building",
                division_code=DEMO_DIVISION,
                address="1 Demo Road, Chaoyang, Beijing",
                is_public_place=True,
                public_place_article=PublicPlaceArticle.ART7_P2,
                categories=["shopping_mall"],
            ),
        )
    )
    assert site.id is not None
    existing = {c.address_code: c for c in registry.list_cameras(SYSTEM, site.id)}
    ids: list[int] = []
    subs: list[str | None] = list(sub_urls) if sub_urls else [None] * len(urls)
    for n, (url, sub) in enumerate(zip(urls, subs, strict=True), start=1):
        code = demo_address_code(n)
        cam = existing.get(code)
        if cam is None:
            cam = registry.create_camera(
                SYSTEM,
                CameraInput(
                    site_id=site.id,
                    address_code=code,
                    name=f"Demo camera {n}",
                    location_categories=["shopping_mall"],
                    main_stream_url=url,
                    sub_stream_url=sub,
                    history=[LifecycleStep(s, on) for s in IN_SERVICE_PATH],
                ),
            )
        elif cam.main_stream is None or cam.main_stream.with_credentials() != url:
            cam = registry.update_camera(
                SYSTEM, cam.id or 0, {"main_stream_url": url, "sub_stream_url": sub}
            )
        elif (cam.sub_stream.with_credentials() if cam.sub_stream else None) != sub:
            cam = registry.update_camera(SYSTEM, cam.id or 0, {"sub_stream_url": sub})
        assert cam.id is not None
        ids.append(cam.id)
    return ids
