"""Walk the OpenAPI document for every integer a client can send: path, query and JSON body."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

Json = dict[str, Any]
METHODS = ("get", "post", "put", "patch", "delete")


@dataclass(frozen=True)
class IntegerSlot:
    """One integer a request carries: where it goes, its dotted name, and its declared bounds."""

    method: str
    path: str
    location: str  # "path", "query" or "body"
    name: tuple[str | int, ...]
    minimum: int | None
    maximum: int | None
    scopes: tuple[str, ...]

    @property
    def field(self) -> str:
        return ".".join(str(p) for p in self.name)

    def __str__(self) -> str:
        return f"{self.method.upper()} {self.path} {self.location}:{self.field}"


def integer_slots(doc: Json) -> Iterator[IntegerSlot]:
    components = doc.get("components", {}).get("schemas", {})
    for path, item in doc["paths"].items():
        for method in METHODS:
            op = item.get(method)
            if op is None:
                continue
            scopes = tuple(s for sec in op.get("security", []) for ss in sec.values() for s in ss)
            found: list[tuple[str, tuple[str | int, ...], Json]] = []
            for param in op.get("parameters", []):
                for name, schema in _integers(param["schema"], components, (param["name"],)):
                    found.append((param["in"], name, schema))
            for content in op.get("requestBody", {}).get("content", {}).values():
                for name, schema in _integers(content.get("schema", {}), components, ()):
                    found.append(("body", name, schema))
            for location, name, schema in found:
                low, high = schema.get("minimum"), schema.get("maximum")
                yield IntegerSlot(
                    method,
                    path,
                    location,
                    name,
                    None if low is None else int(low),
                    None if high is None else int(high),
                    scopes,
                )


def _integers(
    schema: Json, components: Json, prefix: tuple[str | int, ...], depth: int = 0
) -> Iterator[tuple[tuple[str | int, ...], Json]]:
    if depth > 12:
        return
    if "$ref" in schema:
        target = components[schema["$ref"].rsplit("/", 1)[-1]]
        yield from _integers(target, components, prefix, depth + 1)
        return
    for key in ("anyOf", "oneOf", "allOf"):
        for alternative in schema.get(key, []):
            yield from _integers(alternative, components, prefix, depth + 1)
    kind = schema.get("type")
    if kind == "integer":
        yield prefix, schema
    elif kind == "array" and isinstance(schema.get("items"), dict):
        yield from _integers(schema["items"], components, (*prefix, 0), depth + 1)
    elif kind == "object" or "properties" in schema:
        for name, sub in schema.get("properties", {}).items():
            yield from _integers(sub, components, (*prefix, name), depth + 1)
        extra = schema.get("additionalProperties")
        if isinstance(extra, dict):
            yield from _integers(extra, components, (*prefix, "key"), depth + 1)
