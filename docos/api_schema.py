r"""How the OpenAPI schema of /api/v1/ is made to match what the API answers.

- `ApiAutoSchema` (DRF's DEFAULT_SCHEMA_CLASS) documents, on every operation, the error statuses
  the shared machinery can answer, in the one error shape: 401 and 403 wherever a capability is
  required (403 also for a suspended clinic), 400 where there are query parameters or a body,
  404 where an id is in the path or a filter, 413 and 415 where there is a body. Statuses a view documents
  itself (409, 410, its own 400/404 wording) are kept as they are. Text that DRF refuses blank is
  documented with the pattern `\S` (whitespace alone is blank once trimmed); an input serializer's
  `openapi_examples` ({field: value}) become its properties' examples, and its `openapi_rules`
  (e.g. an `anyOf` of required fields) are added to its request schema.
- `add_links` (a drf-spectacular postprocessing hook) adds OpenAPI links from each create
  operation to the operations that take the id it returns, so stateful tests and generated
  clients can chain calls. It reads the schema, so new endpoints are linked without edits.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import ComponentRegistry
from rest_framework import serializers

from docos.api_errors import ERROR_DESCRIPTIONS, ErrorSerializer

JSON = "application/json"


class ApiAutoSchema(AutoSchema):
    def _map_serializer_field(self, field: Any, direction: str, bypass_extensions: bool = False) -> dict[str, Any]:
        schema: dict[str, Any] = super()._map_serializer_field(field, direction, bypass_extensions)
        # DRF trims text and refuses it blank: say that whitespace alone is not a value.
        required_text = type(field) is serializers.CharField and field.trim_whitespace and not field.allow_blank
        if direction == "request" and required_text and schema.get("type") == "string" and "pattern" not in schema:
            schema["pattern"] = r"\S"
        return schema

    def _map_basic_serializer(self, serializer: Any, direction: str) -> dict[str, Any]:
        """A serializer's `openapi_examples` ({field: value}) become its properties' examples: the
        docs show a realistic request, and generators (schemathesis) start from a valid one."""
        schema: dict[str, Any] = super()._map_basic_serializer(serializer, direction)
        for name, value in getattr(serializer, "openapi_examples", {}).items():
            if name in schema.get("properties", {}):
                schema["properties"][name]["example"] = value
        if direction == "request":
            schema.update(getattr(serializer, "openapi_rules", {}))
        return schema

    def get_operation(
        self, path: str, path_regex: str, path_prefix: str, method: str, registry: ComponentRegistry
    ) -> dict[str, Any] | None:
        operation = super().get_operation(path, path_regex, path_prefix, method, registry)
        if operation is None:
            return None
        error = self.resolve_serializer(ErrorSerializer, "response").ref
        responses = operation["responses"]
        for status in self._error_statuses(operation):
            responses.setdefault(
                str(status), {"description": ERROR_DESCRIPTIONS[status], "content": {JSON: {"schema": error}}}
            )
        operation["responses"] = dict(sorted(responses.items()))
        return operation

    def _error_statuses(self, operation: dict[str, Any]) -> set[int]:
        statuses: set[int] = set()
        if getattr(self.view, "required_capability", None) is not None:
            statuses |= {401, 403}
        parameters = operation.get("parameters", [])
        has_body = "requestBody" in operation
        if has_body or any(p["in"] == "query" for p in parameters):
            statuses.add(400)
        if any(p["in"] == "path" or _is_id(p.get("schema", {})) for p in parameters):
            statuses.add(404)
        if has_body:
            statuses |= {413, 415}
        return statuses


def _is_id(schema: dict[str, Any]) -> bool:
    return schema.get("format") == "uuid"


def _ref(response: dict[str, Any] | None) -> str | None:
    if not response:
        return None
    return response.get("content", {}).get(JSON, {}).get("schema", {}).get("$ref")


def _body_properties(operation: dict[str, Any], components: dict[str, Any]) -> dict[str, Any]:
    ref = operation.get("requestBody", {}).get("content", {}).get(JSON, {}).get("schema", {}).get("$ref", "")
    component = components.get(ref.rpartition("/")[2], {})
    return dict(component.get("properties", {}))


def _operations(paths: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    methods = ("get", "put", "post", "patch", "delete")
    return [(path, item[method]) for path, item in paths.items() for method in methods if method in item]


def add_links(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    """Links from each 201 response to the operations that take the created object's id.

    An object's home is the `.../{id}` path whose GET answers the same component (PatientOutput at
    /api/v1/patients/{id}). A create operation links to every operation under that path (`id` in
    the path), to every operation with a filter named after the kind (`?patient=`), and to every
    operation whose JSON body has a field named after the kind (`"patient": ...`)."""
    paths = result.get("paths", {})
    components = result.get("components", {}).get("schemas", {})
    operations = _operations(paths)
    home: dict[str, str] = {}
    for path, operation in operations:
        ref = _ref(operation["responses"].get("200"))
        if ref and path.endswith("/{id}") and operation is paths[path].get("get"):
            home[ref] = path.removesuffix("/{id}")
    for _, source in operations:
        created = source["responses"].get("201")
        base = home.get(_ref(created) or "")
        if created is None or base is None:
            continue
        kind = base.rpartition("/")[2].removesuffix("s")  # /api/v1/patients -> patient
        links: dict[str, Any] = {}
        for path, target in operations:
            filters = [p["name"] for p in target.get("parameters", []) if p["in"] == "query" and _is_id(p["schema"])]
            link: dict[str, Any] = {"operationId": target["operationId"]}
            if path == f"{base}/{{id}}" or path.startswith(f"{base}/{{id}}/"):
                link["parameters"] = {"path.id": "$response.body#/id"}
                link["description"] = f"The new {kind}'s `id` as `id` in the path."
            elif kind in filters:
                link["parameters"] = {f"query.{kind}": "$response.body#/id"}
                link["description"] = f"The new {kind}'s `id` as the `{kind}` filter."
            elif _is_id(_body_properties(target, components).get(kind, {})):
                link["requestBody"] = {kind: "$response.body#/id"}
                link["description"] = f"The new {kind}'s `id` as `{kind}` in the body (with the other fields)."
            else:
                continue
            links[target["operationId"]] = link
        if links:
            created["links"] = links
    return result
