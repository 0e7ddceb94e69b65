"""Request bodies are limited per route before they are read (issue 11 §5)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

from fastapi import FastAPI
from fastapi.testclient import TestClient
from starlette.types import Message

from custos.entrypoints.api.body_limit import DEFAULT_MAX_BODY_BYTES, BodyLimit
from custos.entrypoints.api.routers.requests import MAX_DOCUMENT_BYTES

CHUNK = 64 * 1024


def _refusal_names_the_limit(body: dict[str, object], limit: int) -> bool:
    errors = body["errors"]
    assert isinstance(errors, list)
    return (
        body["error"] == "body_too_large"
        and errors[0]["field"] == "body"
        and str(limit) in str(body["message"])
    )


def test_an_oversized_json_body_is_refused_with_413_naming_the_limit(
    client: TestClient, admin: dict[str, str]
) -> None:
    big = b'{"name": "' + b"x" * (DEFAULT_MAX_BODY_BYTES + 1) + b'"}'
    headers = admin | {"content-type": "application/json"}
    r = client.post("/api/v1/units", content=big, headers=headers)
    assert r.status_code == 413
    assert _refusal_names_the_limit(r.json(), DEFAULT_MAX_BODY_BYTES)


def test_an_oversized_chunked_body_is_refused_with_413(
    client: TestClient, admin: dict[str, str]
) -> None:
    def chunks() -> Iterator[bytes]:  # no Content-Length: sent as chunked transfer
        yield b'{"name": "'
        for _ in range(DEFAULT_MAX_BODY_BYTES // CHUNK + 2):
            yield b"x" * CHUNK
        yield b'"}'

    headers = admin | {"content-type": "application/json"}
    r = client.post("/api/v1/units", content=chunks(), headers=headers)
    assert r.status_code == 413
    assert _refusal_names_the_limit(r.json(), DEFAULT_MAX_BODY_BYTES)


def test_a_body_within_the_limit_goes_through(client: TestClient, admin: dict[str, str]) -> None:
    r = client.post("/api/v1/units", json={"name": "x" * 1000}, headers=admin)
    assert r.status_code == 422  # read and validated: fields are missing, the size is fine


def test_the_document_upload_route_allows_a_document_larger_than_json(app: FastAPI) -> None:
    limit = BodyLimit(app, app.openapi)
    assert limit.limit_for("POST", "/api/v1/requests/7/document") > MAX_DOCUMENT_BYTES
    assert limit.limit_for("POST", "/api/v1/requests/7/documents") == DEFAULT_MAX_BODY_BYTES
    assert limit.limit_for("POST", "/api/v1/units") == DEFAULT_MAX_BODY_BYTES


def test_a_declared_length_over_the_limit_is_refused_before_one_byte_is_read(
    app: FastAPI,
) -> None:
    async def never_read() -> Message:
        raise AssertionError("the body was read")

    async def app_never_called(scope: object, receive: object, send: object) -> None:
        raise AssertionError("the application was called")

    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    middleware = BodyLimit(app_never_called, app.openapi)
    scope = {
        "type": "http",
        "method": "POST",
        "path": "/api/v1/units",
        "headers": [(b"content-length", b"209715200")],  # 200 MB
    }
    asyncio.run(middleware(scope, never_read, send))
    assert sent[0]["status"] == 413


def test_a_chunked_body_is_cut_off_soon_after_the_limit(app: FastAPI) -> None:
    reads = 0

    async def endless() -> Message:
        nonlocal reads
        reads += 1
        return {"type": "http.request", "body": b"x" * CHUNK, "more_body": True}

    async def reads_everything(scope: object, receive: object, send: object) -> None:
        assert callable(receive)
        while True:
            message = await receive()
            if not message.get("more_body"):
                return

    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    middleware = BodyLimit(reads_everything, app.openapi)
    scope = {"type": "http", "method": "POST", "path": "/api/v1/units", "headers": []}
    asyncio.run(middleware(scope, endless, send))
    assert sent[0]["status"] == 413
    assert reads == DEFAULT_MAX_BODY_BYTES // CHUNK + 1
