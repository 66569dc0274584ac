"""Request validation with DRF's error shape and messages.

Connexion routes every request through these validators (its `validator_map`): the
spec's schemas decide what is valid, this module decides how a rejection reads.
It also closes three gaps in Connexion 3.3: `format: uuid` is checked, `nullable`
beside `allOf` is honoured, and a body that is not UTF-8 is a 400, not a 500.
"""

import json
import re
import typing as t
from pathlib import PurePosixPath

from connexion.datastructures import MediaTypeDict
from connexion.json_schema import Draft4RequestValidator, Draft4ResponseValidator, allow_nullable
from connexion.validators import (
    JSONRequestBodyValidator,
    JSONResponseBodyValidator,
    ParameterValidator,
)
from jsonschema import Draft4Validator, ValidationError
from jsonschema._format import is_uuid
from jsonschema.validators import extend
from starlette.datastructures import Headers, QueryParams

from app import errors
from models.errors import DOES_NOT_EXIST
from models.resources import RESOURCES

MAX_BODY_BYTES = 1024 * 1024
SLUG_PATTERN = "^[-a-zA-Z0-9_]+$"

# Query parameters that name another object: django-filter words their errors differently.
RELATION_FILTERS = {name for resource in RESOURCES for name in resource.relation_filters}

Draft4Validator.FORMAT_CHECKER.checks("uuid", raises=ValueError)(is_uuid)


def _is_uuid(text: str) -> bool:
    try:
        return is_uuid(text)
    except ValueError:
        return False


_nullable_all_of = allow_nullable(Draft4Validator.VALIDATORS["allOf"])


def _ecma_pattern(validator, pattern, instance, schema):
    """`pattern` as JSON Schema means it (ECMA-262): `$` ends the string. Python's `$`
    also matches before a final newline, which let `"abc\\n"` pass as a slug."""
    if not validator.is_type(instance, "string"):
        return
    ends = pattern.endswith("$") and not pattern.endswith("\\$")
    python_pattern = pattern[:-1] + r"\Z" if ends else pattern
    if not re.search(python_pattern, instance):
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


RequestSchemaValidator = extend(
    Draft4RequestValidator, {"allOf": _nullable_all_of, "pattern": _ecma_pattern}
)
ResponseSchemaValidator = extend(Draft4ResponseValidator, {"allOf": _nullable_all_of})


# -- messages --------------------------------------------------------------------------


def _json_type(value: t.Any) -> str:
    return type(value).__name__


def _type_message(expected: str, value: t.Any, schema: dict) -> str:
    if expected == "string":
        if schema.get("format") == "uuid":
            # What Django makes of it: an integer is a UUID's number, anything else text.
            if isinstance(value, int) and not isinstance(value, bool):
                return DOES_NOT_EXIST.format(pk=value)
            return errors.INVALID_UUID.format(value=value)
        return errors.NOT_A_STRING
    if expected == "boolean":
        return errors.NOT_A_BOOLEAN
    if expected == "array":
        return errors.NOT_A_LIST.format(type=_json_type(value))
    if expected in ("integer", "number"):
        return errors.NOT_AN_INTEGER
    return errors.NOT_A_DICT.format(type=_json_type(value))


def _message(error) -> str:
    """DRF's words for one jsonschema error."""
    keyword, limit, value = error.validator, error.validator_value, error.instance
    if keyword == "type":
        return _type_message(limit, value, error.schema)
    if keyword == "minLength":
        return errors.BLANK
    if keyword == "maxLength":
        return errors.MAX_LENGTH.format(limit=limit)
    if keyword == "pattern":
        return errors.INVALID_SLUG if limit == SLUG_PATTERN else errors.PATTERN_MISMATCH
    if keyword == "enum":
        return errors.INVALID_CHOICE.format(value=value)
    if keyword == "format" and limit == "uuid":
        return errors.INVALID_UUID.format(value=value)
    if keyword == "minimum":
        return errors.MIN_VALUE.format(limit=limit)
    return error.message


# Errors that stop a field's validation, as DRF stops at a choice it does not know
# (whatever its type), a wrong type or a blank string.
_FIRST = ("enum", "type", "minLength")


def _character_problems(text: str) -> list[str]:
    """DRF's CharField rejects NUL and lone surrogates (no store can hold them)."""
    problems = []
    if "\x00" in text:
        problems.append(errors.NULL_CHARACTERS)
    surrogate = next((ch for ch in text if "\ud800" <= ch <= "\udfff"), None)
    if surrogate is not None:
        problems.append(errors.SURROGATE_CHARACTERS.format(code_point=ord(surrogate)))
    return problems


def _file_name_problems(name: str) -> list[str]:
    """authentik's rule for file fields (`icon`, `background`): URLs pass, relative
    names must be tame."""
    if not name or name.startswith(("http:", "https://", "fa://", "/static")):
        return []
    if not re.fullmatch(r"[a-zA-Z0-9._/-]+", name):
        return [
            "File name can only contain letters (a-z, A-Z), numbers (0-9), dots (.), "
            "hyphens (-), underscores (_), and forward slashes (/)"
        ]
    path = PurePosixPath(name)
    if "//" in name:
        return ["File name cannot contain duplicate /"]
    if path.is_absolute():
        return ["Absolute paths are not allowed"]
    if ".." in path.parts:
        return ["Parent directory references ('..') are not allowed"]
    if str(path).startswith("."):
        return ["Paths cannot start with '.'"]
    if len(str(path)) > 1024:
        return ["File name too long (max 1024 characters)"]
    if any(len(part) > 255 for part in path.parts):
        return ["Path component too long (max 255 characters)"]
    return []


# Rules the schema cannot say, by body field name.
FIELD_RULES: dict[str, t.Callable[[str], list[str]]] = {
    "icon": _file_name_problems,
    "background": _file_name_problems,
}


def _is_text(schema: dict) -> bool:
    """A free-text string (DRF's CharField), not a choice or a reference."""
    return schema.get("type") == "string" and not {"format", "enum", "allOf"} & set(schema)


def _value_messages(value: t.Any, schema_errors: list, field: str | None, schema: dict) -> list:
    """Messages for one scalar value, in DRF's order."""
    for keyword in _FIRST:
        first = [e for e in schema_errors if e.validator == keyword]
        if first:
            return [_message(first[0])]
    messages = [_message(e) for e in schema_errors if e.validator == "maxLength"]
    if isinstance(value, str) and _is_text(schema):
        messages += _character_problems(value)
    messages += [_message(e) for e in schema_errors if e.validator != "maxLength"]
    if not messages and isinstance(value, str) and field in FIELD_RULES:
        messages = FIELD_RULES[field](value)
    return messages


def _field_errors(name: str, schema: dict, value: t.Any, validator) -> list | dict:
    """DRF's errors for one body field: a list of messages, or for a list of strings
    a dict of messages by item index."""
    if value is None:
        return [] if schema.get("nullable") else [errors.NOT_NULL]
    found = list(validator.iter_errors(value))
    if schema.get("type") != "array" or not isinstance(value, list):
        return _value_messages(value, found, name, schema)
    by_item: dict[str, list[str]] = {}
    for index, item in enumerate(value):
        item_errors = [e for e in found if e.path and e.path[0] == index]
        item_schema = schema.get("items", {})
        messages = (
            [errors.NOT_NULL]
            if item is None
            else _value_messages(item, item_errors, None, item_schema)
        )
        if messages:
            by_item[str(index)] = messages
    if not by_item:
        return []
    if schema.get("items", {}).get("format") == "uuid":
        # A list of references reports its first bad item, flat (DRF's ManyRelatedField).
        return next(iter(by_item.values()))
    return by_item


class _CompiledBody:
    """A request body schema, split into one compiled validator per property."""

    def __init__(self, schema: dict):
        self.schema = schema
        self.required = set(schema.get("required", ()))
        self.fields = {
            name: (
                prop,
                RequestSchemaValidator(prop, format_checker=Draft4Validator.FORMAT_CHECKER),
            )
            for name, prop in schema.get("properties", {}).items()
        }

    def errors(self, body: t.Any) -> dict:
        if body is None:
            return {"non_field_errors": [errors.NO_DATA]}
        if not isinstance(body, dict):
            return {"non_field_errors": [errors.NOT_A_DICT.format(type=_json_type(body))]}
        problems = {}
        for name, (schema, validator) in self.fields.items():
            if name not in body:
                if name in self.required:
                    problems[name] = [errors.REQUIRED]
                continue
            found = _field_errors(name, schema, body[name], validator)
            if found:
                problems[name] = found
        return problems


_compiled: dict[int, _CompiledBody] = {}


def _compile(schema: dict) -> _CompiledBody:
    compiled = _compiled.get(id(schema))
    if compiled is None or compiled.schema is not schema:
        compiled = _compiled[id(schema)] = _CompiledBody(schema)
    return compiled


VALIDATED_BODY = "validated_body"
"""Where BodyValidator leaves the body it checked, in the request's Connexion context."""


class BodyValidator(JSONRequestBodyValidator):
    """JSON bodies: size cap, UTF-8, DRF-shaped field errors."""

    async def wrap_receive(self, receive, *, scope):
        declared = Headers(scope=scope).get("content-length", "")
        if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
            raise _too_large()
        messages, size = [], 0
        more_body = True
        while more_body:
            message = await receive()
            messages.append(message)
            size += len(message.get("body", b""))
            if size > MAX_BODY_BYTES:
                raise _too_large()
            more_body = message.get("more_body", False)
        raw = b"".join(m.get("body", b"") for m in messages)
        # An empty body is an empty object to DRF: every required field is then missing.
        body = _parse_json(raw) if raw.strip() else {}
        compiled = _compile(self._schema)
        problems = compiled.errors(body)
        if problems:
            raise errors.invalid(problems)
        # The handler gets the declared fields only: unknown and read-only keys are
        # ignored, as DRF ignores them. The length is declared because WSGI (the Flask
        # flavour) reads a chunked body without Content-Length as empty.
        fields = {k: v for k, v in body.items() if k in compiled.fields}
        # Kept for the handler's arguments, so that the body is parsed once (async flavour).
        context = scope.setdefault("extensions", {}).setdefault("connexion_context", {})
        context[VALIDATED_BODY] = fields
        if len(fields) < len(body) or not raw.strip():
            raw = json.dumps(fields).encode()  # else the body as sent says the same
        scope = {**scope, "headers": _as_json_body(scope["headers"], len(raw))}
        replay = [{"type": "http.request", "body": raw, "more_body": False}]
        return self._insert_messages(receive, messages=replay), scope


def _as_json_body(headers: list, length: int) -> list:
    """Headers for the replayed body: JSON (also when the client named no type, which
    Connexion then assumes), of the given length, not chunked."""
    replaced = (b"content-length", b"transfer-encoding", b"content-type")
    kept = [(k, v) for k, v in headers if k.lower() not in replaced]
    return [*kept, (b"content-type", b"application/json"), (b"content-length", b"%d" % length)]


def _too_large() -> errors.APIError:
    return errors.detail(413, errors.BODY_TOO_LARGE.format(limit=MAX_BODY_BYTES))


def _parse_json(raw: bytes) -> t.Any:
    # JSON is UTF-8 (RFC 8259) whatever charset the Content-Type claims.
    try:
        return json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as error:
        raise errors.detail(400, errors.PARSE_ERROR.format(reason=error)) from None


class ResponseBodyValidator(JSONResponseBodyValidator):
    """Connexion's response check, with `nullable` beside `allOf` honoured, and no
    body expected of an answer to HEAD."""

    def wrap_send(self, send):
        if self._scope.get("method") == "HEAD":
            return send
        return super().wrap_send(send)

    @property
    def validator(self):
        return ResponseSchemaValidator(self._schema, format_checker=Draft4Validator.FORMAT_CHECKER)


class QueryValidator(ParameterValidator):
    """Query parameters, typed strictly by the spec, with django-filter's messages."""

    def validate(self, scope):
        # Connexion's own builds a request object first; the query string is all this needs.
        problems = query_problems(self.parameters.get("query", []), scope)
        if problems:
            raise errors.invalid(problems)


def query_problems(parameters: list[dict], scope) -> dict:
    """django-filter's messages for the query string's values of the given parameters."""
    if not parameters:
        return {}
    given = QueryParams(scope.get("query_string", b""))
    problems = {}
    for param in parameters:
        name, schema = param["name"], param.get("schema", {})
        if name not in given:
            continue
        if schema.get("type") == "array":
            values, schema = given.getlist(name), schema.get("items", {})
        else:
            values = [given[name]]
        messages = [m for value in values for m in _query_messages(name, value, schema)]
        if messages:
            problems[name] = list(dict.fromkeys(messages))
    return problems


def _query_messages(name: str, raw: str, schema: dict) -> list[str]:
    kind = schema.get("type")
    if kind == "integer":
        try:
            number = int(raw) if re.fullmatch(r"-?[0-9]+", raw) else None
        except ValueError:  # more digits than Python converts
            number = None
        if number is None:
            return [errors.NOT_AN_INTEGER]
        if "minimum" in schema and number < schema["minimum"]:
            return [errors.MIN_VALUE.format(limit=schema["minimum"])]
        return []
    if kind == "boolean":
        return [] if raw in ("true", "false") else [errors.NOT_A_BOOLEAN]
    if name == "search":
        return []  # NUL characters are stripped from search terms, as authentik does
    if "\x00" in raw:
        return [errors.NULL_CHARACTERS]
    if schema.get("format") == "uuid" and not _is_uuid(raw):
        if name in RELATION_FILTERS:
            return [errors.INVALID_UUID.format(value=raw)]
        return [errors.FILTER_INVALID_UUID]
    if "enum" in schema and raw not in schema["enum"]:
        return [errors.FILTER_INVALID_CHOICE.format(value=raw)]
    return []


def validator_map() -> dict:
    return {
        "parameter": QueryValidator,
        "body": MediaTypeDict({"*/*json": BodyValidator}),
        "response": MediaTypeDict({"*/*json": ResponseBodyValidator}),
    }
