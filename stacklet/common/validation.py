"""JSON-schema validation of request bodies, with messages that name the field."""

from __future__ import annotations

from typing import Any

import jsonschema

from stacklet.common.errors import BadRequest


def validate(schema: dict, body: Any) -> Any:
    """Validate a request body; 400 naming the offending field when it does not conform."""
    validator = _VALIDATORS.get(id(schema))
    if validator is None:
        cls = jsonschema.validators.validator_for(schema)
        validator = _VALIDATORS[id(schema)] = cls(schema, format_checker=cls.FORMAT_CHECKER)
    error = jsonschema.exceptions.best_match(validator.iter_errors(body))
    if error is not None:
        field = ".".join(str(p) for p in error.absolute_path)
        where = f"Invalid input for field '{field}'" if field else "Invalid input"
        raise BadRequest(f"{where}: {error.message}")
    return body


_VALIDATORS: dict[int, Any] = {}

# Building blocks the services' schemas share.
ID_STRING = {"type": "string", "minLength": 1, "maxLength": 64}
NAME_STRING = {"type": "string", "minLength": 1, "maxLength": 255}
NULLABLE_ID = {"type": ["string", "null"], "minLength": 1, "maxLength": 64}
BOOLEAN = {"type": "boolean"}
DESCRIPTION = {"type": ["string", "null"]}
