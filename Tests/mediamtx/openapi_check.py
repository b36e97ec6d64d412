"""Validate API request bodies against the OpenAPI spec of MediaMTX (mediamtx-openapi.yaml).

    from openapi_check import validate_request
    errors = validate_request("POST", "/v3/config/paths/add/cam1", b'{"record": true}')
    assert errors == [], errors

The operation is found by method and path (query ignored; {name} may contain "/", as MediaMTX
path names can), its requestBody schema is resolved ($ref, allOf, OpenAPI 3.0 "nullable") into a
self-contained JSON Schema and checked with jsonschema. Objects that list their properties are
closed (additionalProperties: false): the spec does not say so, but MediaMTX rejects unknown keys
(`json: unknown field "x"`), so a body with one would never be accepted.

A body for an operation without requestBody must be empty; a required body must be present.
Only the shape is checked: values such as "x" for a duration are valid strings here and are
rejected by the server itself.
"""
import copy
import json
import os
import re
import sys

import jsonschema

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import miniyaml  # noqa: E402

SPEC_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "mediamtx-openapi.yaml")
_spec = None


def spec():
    global _spec
    if _spec is None:
        _spec = miniyaml.load(SPEC_PATH)
    return _spec


def _template_regex(template):
    out = ""
    for part in re.split(r"(\{\w+\})", template):
        if part == "{name}":
            out += "(.+)"              # path names may contain "/"
        elif re.fullmatch(r"\{\w+\}", part):
            out += "([^/]+)"
        else:
            out += re.escape(part)
    return re.compile("^" + out + "$")


def find_operation(method, path):
    """(template, operation) of the spec for this request, or (None, None)."""
    path = path.split("?", 1)[0]
    for template, item in spec()["paths"].items():
        if method.lower() in item and _template_regex(template).match(path):
            return template, item[method.lower()]
    return None, None


def _ref_name(ref):
    if not ref.startswith("#/components/schemas/"):
        raise ValueError("unsupported $ref %s" % ref)
    return ref.rsplit("/", 1)[1]


def to_json_schema(schema, seen=()):
    """OpenAPI 3.0 schema -> self-contained JSON Schema (draft 7)."""
    schema = copy.deepcopy(schema)
    nullable = schema.pop("nullable", False)
    for key in ("deprecated", "description", "format", "example"):
        schema.pop(key, None)
    if "$ref" in schema:
        name = _ref_name(schema.pop("$ref"))
        if name in seen:
            raise ValueError("recursive schema %s" % name)
        target = to_json_schema(spec()["components"]["schemas"][name], seen + (name,))
        schema = dict(target, **schema) if schema else target
    if "allOf" in schema:
        parts = [to_json_schema(p, seen) for p in schema.pop("allOf")]
        if schema.get("type") in ("object", "string") and len(parts) == 1:
            schema.pop("type")
        schema = {"allOf": parts, **schema} if schema else {"allOf": parts}
    for key in ("oneOf", "anyOf"):
        if key in schema:
            schema[key] = [to_json_schema(p, seen) for p in schema[key]]
    if "properties" in schema:
        schema["properties"] = {k: to_json_schema(v, seen) for k, v in schema["properties"].items()}
        schema.setdefault("additionalProperties", False)
    if "items" in schema:
        schema["items"] = to_json_schema(schema["items"], seen)
    if nullable:
        if "enum" in schema:
            schema["enum"] = list(schema["enum"]) + [None]
        if isinstance(schema.get("type"), str):
            schema["type"] = [schema["type"], "null"]
        else:
            schema = {"anyOf": [schema, {"type": "null"}]}
    return schema


def validate_request(method, path, body_bytes):
    """Errors (empty when valid) of this request body against the spec's requestBody schema."""
    template, op = find_operation(method, path)
    if op is None:
        return ["%s %s: no such operation in the OpenAPI spec" % (method, path)]
    request_body = op.get("requestBody")
    body_bytes = body_bytes or b""
    if request_body is None:
        return [] if not body_bytes.strip() else ["%s %s takes no request body" % (method, template)]
    if not body_bytes.strip():
        return ["%s %s: request body is required" % (method, template)] if request_body.get("required") else []
    content = request_body.get("content", {}).get("application/json")
    if content is None:
        return ["%s %s: no application/json request body in the spec" % (method, template)]
    try:
        body = json.loads(body_bytes)
    except ValueError as e:
        return ["%s %s: body is not JSON: %s" % (method, template, e)]
    validator = jsonschema.Draft7Validator(to_json_schema(content["schema"]))
    errors = []
    for err in sorted(validator.iter_errors(body), key=lambda e: list(e.absolute_path)):
        where = "".join("[%d]" % p if isinstance(p, int) else ".%s" % p for p in err.absolute_path) or "(body)"
        errors.append("%s %s: %s: %s" % (method, template, where, err.message))
    return errors
