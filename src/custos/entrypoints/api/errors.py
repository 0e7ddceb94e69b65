"""The one map from domain errors to HTTP responses."""

from __future__ import annotations

import dataclasses

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from custos.domain.errors import (
    AuthenticationFailed,
    CalendarNotCovered,
    Conflict,
    CustosError,
    NotFound,
    PermissionDenied,
    RuleRefusal,
    SignInThrottled,
    ValidationFailed,
)
from custos.entrypoints.web.i18n import DEFAULT_LANGUAGE
from custos.entrypoints.web.messages import language_of, localize_errors


def _body(kind: str, message: str, **extra: object) -> dict[str, object]:
    return {"error": kind, "message": message, **extra}


def install(app: FastAPI) -> None:
    @app.exception_handler(CustosError)
    async def custos_error(request: Request, exc: CustosError) -> JSONResponse:
        return to_response(exc, language_of(request.headers.get("accept-language")))

    @app.exception_handler(RequestValidationError)
    async def request_invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {
                "field": ".".join(str(p) for p in e["loc"] if p not in ("body", "query", "path")),
                "reason": e["msg"],
                "rule_id": None,
                "article": None,
            }
            for e in exc.errors()
        ]
        errors = localize_errors(errors, language_of(request.headers.get("accept-language")))
        return JSONResponse(
            _body("validation_failed", "the request is not valid", errors=errors), status_code=422
        )


def to_response(exc: CustosError, lang: str = DEFAULT_LANGUAGE) -> JSONResponse:
    """The response for a domain error; each field error also gets ``text`` and ``field_label``
    in ``lang`` (``reason`` and ``message`` stay English, for logs and scripts)."""
    if isinstance(exc, ValidationFailed):
        kind = "rule_refusal" if isinstance(exc, RuleRefusal) else "validation_failed"
        errors = localize_errors([dataclasses.asdict(e) for e in exc.errors], lang)
        return JSONResponse(_body(kind, str(exc), errors=errors), status_code=422)
    if isinstance(exc, NotFound):
        return JSONResponse(_body("not_found", str(exc)), status_code=404)
    if isinstance(exc, Conflict):
        errors = [{"field": exc.field, "reason": exc.reason, "rule_id": exc.rule_id,
                   "article": exc.article, "key": exc.key or "conflict",
                   "params": exc.params if exc.key else {"field": exc.field}}]  # fmt: skip
        errors = localize_errors(errors, lang)
        return JSONResponse(_body("conflict", str(exc), errors=errors), status_code=409)
    if isinstance(exc, SignInThrottled):
        body = _body("sign_in_throttled", str(exc), retry_after=exc.retry_after_s)
        headers = {"Retry-After": str(exc.retry_after_s)}
        return JSONResponse(body, status_code=429, headers=headers)
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
