"""The one map from domain errors to HTTP responses."""

from __future__ import annotations

import dataclasses

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from custos.domain.errors import (
    AccountLocked,
    AuthenticationFailed,
    CalendarNotCovered,
    Conflict,
    CustosError,
    NotFound,
    PermissionDenied,
    RuleRefusal,
    ValidationFailed,
)


def _body(kind: str, message: str, **extra: object) -> dict[str, object]:
    return {"error": kind, "message": message, **extra}


def install(app: FastAPI) -> None:
    @app.exception_handler(CustosError)
    async def custos_error(_: Request, exc: CustosError) -> JSONResponse:
        return to_response(exc)

    @app.exception_handler(RequestValidationError)
    async def request_invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {
                "field": ".".join(str(p) for p in e["loc"] if p not in ("body", "query", "path")),
                "reason": e["msg"],
                "rule_id": None,
                "article": None,
            }
            for e in exc.errors()
        ]
        return JSONResponse(
            _body("validation_failed", "the request is not valid", errors=errors), status_code=422
        )


def to_response(exc: CustosError) -> JSONResponse:
    if isinstance(exc, ValidationFailed):
        kind = "rule_refusal" if isinstance(exc, RuleRefusal) else "validation_failed"
        errors = [dataclasses.asdict(e) for e in exc.errors]
        return JSONResponse(_body(kind, str(exc), errors=errors), status_code=422)
    if isinstance(exc, NotFound):
        return JSONResponse(_body("not_found", str(exc)), status_code=404)
    if isinstance(exc, Conflict):
        errors = [{"field": exc.field, "reason": exc.reason, "rule_id": None, "article": None}]
        return JSONResponse(_body("conflict", str(exc), errors=errors), status_code=409)
    if isinstance(exc, AccountLocked):
        body = _body("account_locked", str(exc), locked_until=exc.until.isoformat())
        return JSONResponse(body, status_code=423)
    if isinstance(exc, AuthenticationFailed):
        return JSONResponse(
            _body("authentication_failed", str(exc)),
            status_code=401,
            headers={"WWW-Authenticate": "Bearer"},
        )
    if isinstance(exc, PermissionDenied):
        return JSONResponse(_body("permission_denied", str(exc)), status_code=403)
    if isinstance(exc, CalendarNotCovered):
        return JSONResponse(_body("calendar_not_covered", str(exc)), status_code=503)
    return JSONResponse(_body("error", str(exc)), status_code=500)
