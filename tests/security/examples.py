"""Valid inputs, made from what a handler checks its input against.

The services validate bodies inside their handlers: with JSON schemas
(``stacklet.common.validation.validate``) or, in the network service, with
Neutron-style attribute maps (``stacklet.network.attributes``).  The fuzzer
records which schema or attribute map a handler used on a probe body and
asks this module for a value that passes it; ids come from the resources
the fuzzer seeded, matched by the field's name (``flavorRef``, ``network_id``).
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import re
from typing import Any, Callable

import jsonschema

# Tried in order for a string field, after a seeded id the field's name asks for;
# the first the schema (or converter) accepts wins.
STRING_CANDIDATES = [
    "fuzz-1", "10.20.30.0/24", "10.20.30.40", "2030-01-01T00:00:00Z", "2030-01-01",
    "7b6b5d3c-0d8e-4f6a-9c51-5f2f4cdd0e11", "http://example.com/fuzz", "fuzz@example.com",
    "fa:16:3e:00:00:01", "1", "true", "x", "a" * 64,
]
SCALAR_CANDIDATES = [4, 1, 0, True, False, None, 1.5, [], {}]


def _stem(name: str) -> str:
    """What a field's name says it refers to: ``flavorRef`` -> flavor, ``domain_id`` -> domain."""
    name = re.sub(r"[^a-z0-9]", "", name.lower())
    for suffix in ("uuid", "ref", "ids", "id", "s"):
        if name.endswith(suffix) and len(name) > len(suffix):
            name = name[: -len(suffix)]
            break
    return name


def seeded_id(name: str | None, ids: dict[str, str]) -> str | None:
    """The seeded resource a field's name refers to, if any (``default_project_id`` -> project)."""
    if not name:
        return None
    stem = _stem(name)
    if stem in ids:
        return ids[stem]
    matches = [kind for kind in ids if stem.endswith(kind)]
    return ids[max(matches, key=len)] if matches else None


class SchemaExamples:
    """Values that pass a JSON schema (its required parts only)."""

    def __init__(self, ids: dict[str, str]):
        self.ids = ids

    def example(self, schema: Any, root: Any = None, name: str | None = None,
                depth: int = 0) -> Any:
        root = schema if root is None else root
        if not isinstance(schema, dict) or depth > 12:
            return None
        if "$ref" in schema:
            return self.example(_resolve(root, schema["$ref"]), root, name, depth + 1)
        if "const" in schema:
            return schema["const"]
        if "enum" in schema:
            choices = [c for c in schema["enum"] if c is not None] or schema["enum"]
            return copy.deepcopy(choices[0])
        for combinator in ("anyOf", "oneOf"):
            for branch in schema.get(combinator, []):
                merged = {**{k: v for k, v in schema.items() if k != combinator}, **branch}
                value = self.example(merged, root, name, depth + 1)
                if self.passes(schema, value, root):
                    return value
        if "allOf" in schema:
            merged = dict(schema)
            for part in merged.pop("allOf"):
                merged.update(part)
            return self.example(merged, root, name, depth + 1)
        types = schema.get("type", _implied_type(schema))
        types = [types] if isinstance(types, str) else list(types or ["object"])
        # Prefer a real value to null, and a string (where ids go) to a number.
        types.sort(key=lambda t: ["object", "array", "string", "integer", "number",
                                  "boolean", "null"].index(t) if t in (
            "object", "array", "string", "integer", "number", "boolean", "null") else 9)
        for kind in types:
            value = self._of_type(kind, schema, root, name, depth)
            if self.passes(schema, value, root):
                return value
        return self._of_type(types[0], schema, root, name, depth)

    def _of_type(self, kind: str, schema: dict, root: Any, name: str | None, depth: int) -> Any:
        if kind == "object":
            properties = schema.get("properties", {})
            value = {key: self.example(properties.get(key, {}), root, key, depth + 1)
                     for key in schema.get("required", [])}
            for key in properties:
                if len(value) >= schema.get("minProperties", 0):
                    break
                value.setdefault(key, self.example(properties[key], root, key, depth + 1))
            if len(value) < schema.get("minProperties", 0):
                for pattern, sub in schema.get("patternProperties", {}).items():
                    key = next((c for c in STRING_CANDIDATES if re.search(pattern, c)), "fuzz")
                    value[key] = self.example(sub, root, key, depth + 1)
                    break
                else:
                    value["fuzz"] = self.example(schema.get("additionalProperties", {}),
                                                 root, "fuzz", depth + 1)
            return value
        if kind == "array":
            items = schema.get("items", {})
            item = self.example(items if isinstance(items, dict) else {}, root, name, depth + 1)
            return [item] * max(schema.get("minItems", 1), 1) if item is not None else []
        if kind == "string":
            sub = {k: v for k, v in schema.items() if k != "type"} | {"type": "string"}
            candidates = [seeded_id(name, self.ids), *STRING_CANDIDATES,
                          *self.ids.values()]
            for candidate in candidates:
                if candidate is not None and self.passes(sub, candidate, root):
                    return candidate
            return "x" * max(schema.get("minLength", 1), 1)
        if kind in ("integer", "number"):
            low = schema.get("minimum", schema.get("exclusiveMinimum", 0))
            value = max(1, int(low) + (1 if "exclusiveMinimum" in schema else 0))
            return min(value, schema.get("maximum", value))
        return {"boolean": True, "null": None}.get(kind)

    def passes(self, schema: Any, value: Any, root: Any = None) -> bool:
        root = schema if root is None else root
        try:
            cls = jsonschema.validators.validator_for(root if isinstance(root, dict) else {})
            if isinstance(root, dict) and schema is not root:
                schema = {**schema, "definitions": root.get("definitions", {})}
            return cls(schema, format_checker=cls.FORMAT_CHECKER).is_valid(value)
        except (jsonschema.exceptions.SchemaError, jsonschema.exceptions.RefResolutionError,
                TypeError, ValueError, LookupError):
            return True

    def fields(self, schema: Any, root: Any = None) -> list["Field"]:
        """Every property a schema's objects may carry, with where it goes (relative
        to the validated value), whether a value passes it, and a valid value."""
        root = schema if root is None else root
        found: list[Field] = []

        def walk(node: Any, path: list, depth: int) -> None:
            if not isinstance(node, dict) or depth > 6:
                return
            if "$ref" in node:
                walk(_resolve(root, node["$ref"]), path, depth + 1)
            for key, sub in node.get("properties", {}).items():
                found.append(Field(path + [key], functools.partial(self.passes, sub, root=root),
                                   functools.partial(self.example, sub, root, key),
                                   _boundaries(sub)))
                walk(sub, path + [key], depth + 1)
            for combinator in ("anyOf", "oneOf", "allOf"):
                for branch in node.get(combinator, []):
                    walk(branch, path, depth + 1)
            if isinstance(node.get("items"), dict):
                walk(node["items"], path + [0], depth + 1)
        walk(schema, [], 0)
        return found


@dataclasses.dataclass(frozen=True)
class Field:
    path: list                          # relative to the validated value
    accepts: Callable[[Any], bool]      # whether the validator lets a value through
    example: Callable[[], Any]          # a value it lets through
    boundaries: tuple = ()              # the edges its schema states


def _boundaries(schema: Any) -> tuple:
    """Values at the edges a schema states: its limits, and one past them."""
    if not isinstance(schema, dict):
        return ()
    values: list[Any] = list(schema.get("enum", []))
    for key in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        if isinstance(schema.get(key), (int, float)):
            values += [schema[key], schema[key] - 1, schema[key] + 1]
    for key in ("minLength", "maxLength"):
        if isinstance(schema.get(key), int) and schema[key] < 100_000:
            values += ["a" * schema[key], "a" * (schema[key] + 1), "1" * schema[key]]
    return tuple(values)


def _implied_type(schema: dict) -> str | None:
    if "properties" in schema or "required" in schema:
        return "object"
    if "items" in schema:
        return "array"
    if "pattern" in schema or "maxLength" in schema or "format" in schema:
        return "string"
    return None


def _resolve(root: Any, ref: str) -> Any:
    node = root
    for part in ref.removeprefix("#/").split("/"):
        node = node.get(part, {}) if isinstance(node, dict) else {}
    return node


def attribute_example(attrs: dict, ids: dict[str, str], *, update: bool) -> dict:
    """A body for a Neutron attribute map: every required attribute on create, the
    first updatable one on update; each the first candidate its converter accepts."""
    if update:
        names = [name for name, attr in attrs.items() if attr.put][:1]
    else:
        names = [name for name, attr in attrs.items() if attr.required]
    return {name: attribute_value(name, attrs[name], ids) for name in names}


def attribute_fields(attrs: dict, ids: dict[str, str]) -> list[Field]:
    """The attributes of a Neutron attribute map as fields: a value passes when
    the attribute's converter takes it."""
    def accepts(attr: Any, value: Any) -> bool:
        try:
            attr.convert(value) if attr.convert else None
        except Exception:  # noqa: BLE001 - any refusal is a refusal
            return False
        return True
    return [Field([name], functools.partial(accepts, attr),
                  functools.partial(attribute_value, name, attr, ids))
            for name, attr in attrs.items()]


def attribute_value(name: str, attr: Any, ids: dict[str, str]) -> Any:
    seeded = seeded_id(name, ids)
    for candidate in [*([seeded] if seeded else []), *STRING_CANDIDATES, *SCALAR_CANDIDATES]:
        if attr.convert is None:
            return candidate
        try:
            attr.convert(candidate)
        except Exception:  # noqa: BLE001 - any refusal means: try the next candidate
            continue
        return candidate
    return "fuzz"
