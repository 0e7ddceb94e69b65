"""The FastAPI application factory."""

from __future__ import annotations

from fastapi import FastAPI

from custos import __version__
from custos.bootstrap import Services
from custos.entrypoints.api import errors
from custos.entrypoints.api.body_limit import BodyLimit
from custos.entrypoints.api.routers import (
    accounting,
    audit,
    auth,
    cameras,
    cluster,
    compliance,
    diagnosis,
    divisions,
    duty,
    emergency,
    filing_exchange,
    filings,
    footage,
    footage_import,
    gb_cascade,
    gb_channels,
    gb_devices,
    health,
    holds,
    inspections,
    keys,
    maintenance,
    monitoring_rooms,
    network,
    notify,
    onvif,
    publications,
    register,
    requests,
    rules,
    sites,
    staff,
    storage,
    supervision,
    units,
    users,
    wall,
    witness,
)
from custos.entrypoints.api.routers import recording as recording_router
from custos.entrypoints.web import PUBLIC_UI_ROUTES
from custos.entrypoints.web import install as install_ui

API_PREFIX = "/api/v1"
#: Routes reachable without a token. A test fails if any other route is.
PUBLIC_ROUTES = frozenset(
    {
        ("POST", f"{API_PREFIX}/auth/login"),
        ("GET", f"{API_PREFIX}/health"),
        ("GET", f"{API_PREFIX}/keys"),  # public keys only: fingerprints to check packages by
        # the checkpoints a bureau witnesses: sizes, hashes, times and signatures, no personal data
        ("GET", f"{API_PREFIX}/witness/checkpoints"),
    }
    | PUBLIC_UI_ROUTES
)
#: Routes authorized by a signature in the request instead of a token, and why. A test holds
#: each to asking for no token and refusing what no registered key signed.
SIGNED_ROUTES = {
    ("POST", f"{API_PREFIX}/witness/checkpoints"): "a checkpoint is accepted only when a "
    "registered sender's log key signed it: the unit's system has no account at the bureau",
}


def create_app(container: Services) -> FastAPI:
    app = FastAPI(
        title="Custos",
        version=__version__,
        description="Public-security video image information system (公共安全视频图像信息系统)",
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=f"{API_PREFIX}/docs",
        redoc_url=None,
    )
    app.state.container = container
    errors.install(app)
    # Bodies are limited per route before they are read; a route raises its own limit with
    # openapi_extra=max_body(N), read back from the OpenAPI document at the first request.
    app.add_middleware(BodyLimit, openapi=app.openapi)
    for module in (
        auth,
        users,
        units,
        sites,
        cameras,
        rules,
        compliance,
        audit,
        health,
        keys,
        requests,
        footage,
        footage_import,
        network,
        gb_cascade,
        gb_channels,
        gb_devices,
        diagnosis,
        notify,
        onvif,
        register,
        holds,
        storage,
        accounting,
        monitoring_rooms,
        duty,
        staff,
        maintenance,
        emergency,
        publications,
        filing_exchange,
        filings,
        inspections,
        divisions,
        supervision,
        witness,
        cluster,
        wall,
    ):
        app.include_router(module.router, prefix=API_PREFIX)
    app.include_router(recording_router.router, prefix=API_PREFIX)
    install_ui(app)  # the web UI: pages, static files, live WebSocket (docs/design/ui.md)
    return app
