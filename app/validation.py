"""Request validation in Django REST framework's words.

The spec decides what is valid: request bodies, query and path parameters are checked
by JSON Schema validators compiled once from their schemas in openapi/openapi.yaml,
on the values as sent. This module only does what DRF does around that: text of
whitespace alone is blank and text is stored trimmed (docs/behaviour.md §1), and each
failure is worded as DRF (or django-filter, for query parameters) would
(docs/behaviour.md §2). What a schema cannot say is an `x-` keyword in the YAML:

- `x-format: slug`: the field's `pattern` is a slug's, so its failure reads as DRF's
  slug message;
- `x-format: file-name`: authentik's rule for stored file names (`icon`, `background`),
  `x-format: user-path` its rule for a user's `path` (`x-format` is `format` for formats
  of our own, which client generators need not know);
- `x-null-characters: dropped` on a query parameter: NUL characters are removed (as
  from a search) rather than refused;
- `x-max-terms: N` on a search parameter: at most N terms, as the store splits them;
- `x-references: <Model>` on a query parameter: the value names another object, so a
  malformed one reads as that object's lookup error.
"""

import json
import re
import typing as t
import uuid
from pathlib import PurePosixPath

from connexion.json_schema import Draft4RequestValidator, Draft4ResponseValidator, allow_nullable
from jsonschema import Draft4Validator, FormatChecker, ValidationError
from jsonschema.validators import extend
from starlette.datastructures import QueryParams

from app import errors
from models.base import parse_datetime
from models.errors import DOES_NOT_EXIST
from models.store import search_terms

MAX_BODY_BYTES = 1024 * 1024


# -- the schema dialect ---------------------------------------------------------------

FORMATS = FormatChecker()
"""Every format jsonschema knows, and ours."""


class FileNameProblem(ValueError):
    """A file name or path authentik would refuse; the message says why."""


@FORMATS.checks("uuid", raises=ValueError)
def _is_uuid(text: object) -> bool:
    # Hyphenated, as Python's UUID() also takes other spellings.
    if not isinstance(text, str):
        return True
    uuid.UUID(text)
    return all(text[position] == "-" for position in (8, 13, 18, 23))


_RFC3339 = FORMATS.checkers["date-time"][0]


@FORMATS.checks("date-time", raises=ValueError)
def _is_date_time(text: object) -> bool:
    """RFC 3339, and a moment the store can hold (not a leap second, not year 0)."""
    if not isinstance(text, str):
        return True
    return _RFC3339(text) and parse_datetime(text) is not None


@FORMATS.checks("email")
def _is_email(text: object) -> bool:
    """Django's EmailValidator in outline: a local part, `@`, a dotted domain. Empty
    text is no address, which an optional email field allows (authentik's default)."""
    return not isinstance(text, str) or not text or _EMAIL.fullmatch(text) is not None


_EMAIL = re.compile(r"[^@\s]+@[^@\s.]+(\.[^@\s.]+)+")


def _ecma_search(pattern: str, text: str) -> bool:
    """`pattern` as JSON Schema means it (ECMA-262): `$` ends the string. Python's `$`
    also matches before a final newline, which would let `"abc\\n"` pass as a slug."""
    ends = pattern.endswith("$") and not pattern.endswith("\\$")
    return re.search(pattern[:-1] + r"\Z" if ends else pattern, text) is not None


@FORMATS.checks("file-name", raises=FileNameProblem)
def _is_file_name(name: object) -> bool:
    """authentik's rule for file fields: URLs pass, relative names must be tame."""
    if not isinstance(name, str) or not name or name.startswith(_FILE_URL_PREFIXES):
        return True
    if not re.fullmatch(r"[a-zA-Z0-9._/-]+", name):
        raise FileNameProblem(
            "File name can only contain letters (a-z, A-Z), numbers (0-9), dots (.), "
            "hyphens (-), underscores (_), and forward slashes (/)"
        )
    path = PurePosixPath(name)
    if "//" in name:
        raise FileNameProblem("File name cannot contain duplicate /")
    if path.is_absolute():
        raise FileNameProblem("Absolute paths are not allowed")
    if ".." in path.parts:
        raise FileNameProblem("Parent directory references ('..') are not allowed")
    if str(path).startswith("."):
        raise FileNameProblem("Paths cannot start with '.'")
    if len(str(path)) > 1024:
        raise FileNameProblem("File name too long (max 1024 characters)")
    if any(len(part) > 255 for part in path.parts):
        raise FileNameProblem("Path component too long (max 255 characters)")
    return True


_FILE_URL_PREFIXES = ("http:", "https://", "fa://", "/static")


@FORMATS.checks("user-path", raises=FileNameProblem)
def _is_user_path(path: object) -> bool:
    """authentik's rule for a user's `path`: segments joined by `/`, none empty."""
    if not isinstance(path, str) or not path:
        return True
    if path.startswith("/") or path.endswith("/"):
        raise FileNameProblem("No leading or trailing slashes allowed.")
    if "" in path.split("/"):
        raise FileNameProblem("No empty segments in user path allowed.")
    return True


def _ecma_pattern(validator, pattern, instance, schema):
    if validator.is_type(instance, "string") and not _ecma_search(pattern, instance):
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


_nullable_all_of = allow_nullable(Draft4Validator.VALIDATORS["allOf"])


def _our_format(validator, name, instance, schema):
    """`x-format`: one of our own formats, checked as `format` checks the standard ones."""
    yield from Draft4Validator.VALIDATORS["format"](validator, name, instance, schema)


RequestSchemaValidator = extend(
    Draft4RequestValidator,
    {"allOf": _nullable_all_of, "pattern": _ecma_pattern, "x-format": _our_format},
)
ResponseSchemaValidator = extend(Draft4ResponseValidator, {"allOf": _nullable_all_of})


def compile_schema(schema: dict):
    """A request validator for one schema, with our formats."""
    return RequestSchemaValidator(schema, format_checker=FORMATS)


# -- what DRF does with text ------------------------------------------------------------

# Formats whose strings are not free text: DRF does not trim them, and NUL characters in
# them fail the format itself.
_NOT_TEXT_FORMATS = {"uuid", "date-time", "date", "binary", "byte"}


def _is_text(schema: dict) -> bool:
    """A free-text string (DRF's CharField and its kin): not a choice or a reference."""
    return (
        schema.get("type") == "string"
        and not {"enum", "allOf"} & set(schema)
        and schema.get("format") not in _NOT_TEXT_FORMATS
    )


def trimmed(value: t.Any, schema: dict) -> t.Any:
    """The value with leading and trailing whitespace removed from its text, as DRF's
    CharField stores it (`trim_whitespace`)."""
    if isinstance(value, str) and _is_text(schema):
        return value.strip()
    if isinstance(value, list) and schema.get("type") == "array":
        items = schema.get("items", {})
        return [trimmed(item, items) for item in value]
    return value


def _blank(value: t.Any, schema: dict) -> bool:
    """Text of whitespace alone where the schema wants some (DRF: `allow_blank=False`)."""
    return (
        isinstance(value, str)
        and _is_text(schema)
        and schema.get("minLength", 0) >= 1
        and not value.strip()
    )


# -- DRF's words for a failure --------------------------------------------------------


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
    """DRF's words for one jsonschema error in a body."""
    keyword, limit, value = error.validator, error.validator_value, error.instance
    keyword = "format" if keyword == "x-format" else keyword
    if keyword == "type":
        return _type_message(limit, value, error.schema)
    if keyword == "minLength":
        return errors.BLANK
    if keyword == "maxLength":
        return errors.MAX_LENGTH.format(limit=limit)
    if keyword == "maxItems":
        return errors.MAX_ITEMS.format(limit=limit)
    if keyword == "pattern":
        slug = error.schema.get("x-format") == "slug"
        return errors.INVALID_SLUG if slug else errors.PATTERN_MISMATCH
    if keyword == "enum":
        return errors.INVALID_CHOICE.format(value=value)
    if keyword == "format" and limit == "uuid":
        return errors.INVALID_UUID.format(value=value)
    if keyword == "format" and limit == "email":
        return errors.INVALID_EMAIL
    if keyword == "format" and limit == "date-time":
        return errors.INVALID_DATETIME
    if keyword == "format" and isinstance(error.cause, FileNameProblem):
        return str(error.cause)
    if keyword == "minimum":
        return errors.MIN_VALUE.format(limit=limit)
    if keyword == "maximum":
        return errors.MAX_VALUE.format(limit=limit)
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


def _value_messages(value: t.Any, schema_errors: list, schema: dict) -> list:
    """Messages for one scalar value, in DRF's order: length, characters, the other
    checks, and a file name's own rule only when nothing else is wrong."""
    for keyword in _FIRST:
        first = [e for e in schema_errors if e.validator == keyword]
        if first:
            return [_message(first[0])]
    messages = [_message(e) for e in schema_errors if e.validator == "maxLength"]
    if isinstance(value, str) and _is_text(schema):
        messages += _character_problems(value)
    messages += [
        _message(e)
        for e in schema_errors
        if e.validator != "maxLength" and not isinstance(e.cause, FileNameProblem)
    ]
    if not messages:
        messages = [_message(e) for e in schema_errors if isinstance(e.cause, FileNameProblem)]
    return list(dict.fromkeys(messages))


# How deep free-form JSON may nest: the response's encoder (orjson) stops at 255 levels.
MAX_JSON_DEPTH = 64


def _storable(value: t.Any) -> bool:
    """Whether free-form JSON (`attributes`) can be stored and answered: no NUL or lone
    surrogate in any text, integers within 64 bits, which both databases' JSON and the
    response's encoder hold, and at most MAX_JSON_DEPTH levels of nesting. Walked with a
    stack, not recursion, however deep the value."""
    pending = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, str):
            if _character_problems(item):
                return False
        elif isinstance(item, bool) or item is None or isinstance(item, float):
            continue
        elif isinstance(item, int):
            if not -(2**63) <= item < 2**63:
                return False
        elif depth > MAX_JSON_DEPTH:
            return False
        elif isinstance(item, list):
            pending.extend((member, depth + 1) for member in item)
        else:
            pending.extend((key, depth + 1) for key in item)
            pending.extend((member, depth + 1) for member in item.values())
    return True


def _field_errors(schema: dict, value: t.Any, validator) -> list | dict:
    """DRF's errors for one body field: a list of messages, or for a list of strings
    a dict of messages by item index."""
    if value is None:
        return [] if schema.get("nullable") else [errors.NOT_NULL]
    found = list(validator.iter_errors(value))
    if not found and schema.get("type") == "object" and not _storable(value):
        return [errors.INVALID_JSON]
    if schema.get("type") != "array" or not isinstance(value, list):
        return _value_messages(value, found, schema)
    whole = [_message(e) for e in found if not e.path]  # about the list itself (maxItems)
    if whole:
        return whole
    by_item: dict[str, list[str]] = {}
    item_schema = schema.get("items", {})
    for index, item in enumerate(value):
        item_errors = [e for e in found if e.path and e.path[0] == index]
        messages = (
            [errors.NOT_NULL] if item is None else _value_messages(item, item_errors, item_schema)
        )
        if messages:
            by_item[str(index)] = messages
    if not by_item:
        return []
    if item_schema.get("format") == "uuid":
        # A list of references reports its first bad item, flat (DRF's ManyRelatedField).
        return next(iter(by_item.values()))
    return by_item


class CompiledBody:
    """A request body schema, split into one compiled validator per property."""

    def __init__(self, schema: dict):
        self.schema = schema
        self.required = set(schema.get("required", ()))
        self.fields = {
            name: (prop, compile_schema(prop))
            for name, prop in schema.get("properties", {}).items()
            if not prop.get("readOnly")
        }

    def clean(self, body: t.Any) -> tuple[dict, dict]:
        """(the declared fields, trimmed; DRF's errors by field). Unknown and read-only
        keys are left out, as DRF ignores them. The schema checks the values as sent, so
        that the server accepts exactly what the spec allows; text that is only
        whitespace is blank where a value is required, and text is stored trimmed, as
        DRF's CharField does (docs/behaviour.md §1)."""
        if body is None:
            return {}, {"non_field_errors": [errors.NO_DATA]}
        if not isinstance(body, dict):
            return {}, {"non_field_errors": [errors.NOT_A_DICT.format(type=_json_type(body))]}
        fields, problems = {}, {}
        for name, (schema, validator) in self.fields.items():
            if name not in body:
                if name in self.required:
                    problems[name] = [errors.REQUIRED]
                continue
            value = body[name]
            fields[name] = trimmed(value, schema)
            found = [errors.BLANK] if _blank(value, schema) else None
            found = found or _field_errors(schema, value, validator)
            if found:
                problems[name] = found
        return fields, problems


_compiled_bodies: dict[int, CompiledBody] = {}


def compiled_body(schema: dict) -> CompiledBody:
    """The compiled form of a body schema, made once per schema."""
    compiled = _compiled_bodies.get(id(schema))
    if compiled is None or compiled.schema is not schema:
        compiled = _compiled_bodies[id(schema)] = CompiledBody(schema)
    return compiled


def parse_json(raw: bytes) -> t.Any:
    """A request body; a 400 in DRF's words when it is not JSON. JSON is UTF-8 (RFC 8259)
    whatever charset the Content-Type claims."""
    try:
        return json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as error:
        raise errors.detail(400, errors.PARSE_ERROR.format(reason=error)) from None


def body_too_large() -> errors.APIError:
    return errors.detail(413, errors.BODY_TOO_LARGE.format(limit=MAX_BODY_BYTES))


# -- query parameters ------------------------------------------------------------------

_INTEGER = re.compile(r"-?[0-9]+")


def _typed(raw: str, schema: dict) -> t.Any:
    """A query string value as the JSON value the schema expects, where it reads as one;
    otherwise the string, for the schema's type check to refuse."""
    kind = schema.get("type")
    if kind in ("integer", "number") and _INTEGER.fullmatch(raw):
        try:
            return int(raw)
        except ValueError:  # more digits than Python converts
            return raw
    if kind == "boolean" and raw in ("true", "false"):
        return raw == "true"
    return raw


def _query_message(error, parameter: dict) -> str:
    """django-filter's words (Django form fields) for one query parameter error."""
    keyword, limit, value = error.validator, error.validator_value, error.instance
    if keyword == "type":
        return errors.NOT_A_BOOLEAN if limit == "boolean" else errors.NOT_AN_INTEGER
    if keyword == "enum":
        return errors.FILTER_INVALID_CHOICE.format(value=value)
    if keyword == "format" and limit == "date-time":
        return errors.FILTER_INVALID_DATETIME
    if keyword == "format" and limit == "uuid":
        if "x-references" in parameter.get("schema", {}):
            return errors.INVALID_UUID.format(value=value)
        return errors.FILTER_INVALID_UUID
    if keyword == "minimum":
        return errors.MIN_VALUE.format(limit=limit)
    if keyword == "maximum":
        return errors.MAX_VALUE.format(limit=limit)
    if keyword == "maxLength":
        return errors.FILTER_MAX_LENGTH.format(limit=limit, length=len(value))
    if keyword == "maxItems":
        return errors.MAX_ITEMS.format(limit=limit)
    if keyword == "pattern":
        return errors.FILTER_INVALID_VALUE
    return error.message


class CompiledQuery:
    """An operation's query parameters, each with its compiled validator."""

    def __init__(self, parameters: list[dict]):
        self.parameters = [
            (p, p.get("schema", {}), compile_schema(p.get("schema", {})))
            for p in parameters
            if p.get("in") == "query"
        ]

    def check(self, query_string: bytes) -> tuple[dict, dict]:
        """(the declared parameters given, typed as their schemas say; their errors by
        name, in django-filter's words)."""
        if not self.parameters:
            return {}, {}
        given = QueryParams(query_string)
        values, problems = {}, {}
        for parameter, schema, validator in self.parameters:
            name = parameter["name"]
            if name not in given:
                if parameter.get("required"):  # django-filter's required filter
                    problems[name] = [errors.REQUIRED]
                continue
            if schema.get("type") == "array":
                item_schema = schema.get("items", {})
                raws = given.getlist(name)
                value: t.Any = [_typed(raw, item_schema) for raw in raws]
            else:
                item_schema = schema
                raws = [given[name]]
                value = _typed(raws[0], schema)
            values[name] = value
            messages = []
            # Django's form fields refuse NUL in any string, before their own checks.
            textual = item_schema.get("type") not in ("integer", "number", "boolean")
            if textual and schema.get("x-null-characters") != "dropped":
                messages += [errors.NULL_CHARACTERS for raw in raws if "\x00" in raw]
            if not messages:
                messages = [_query_message(e, parameter) for e in validator.iter_errors(value)]
            if not messages and "x-max-terms" in schema:
                terms, limit = len(search_terms(value)), schema["x-max-terms"]
                if terms > limit:
                    messages = [errors.FILTER_MAX_TERMS.format(limit=limit, count=terms)]
            if messages:
                problems[name] = list(dict.fromkeys(messages))
        return values, problems


# -- path parameters -------------------------------------------------------------------


class CompiledPath:
    """An operation's path parameters, each with its compiled validator: a value its
    schema refuses names no object (DRF's lookup answers 404, never 400)."""

    def __init__(self, parameters: list[dict]):
        self.parameters = {
            p["name"]: (p.get("schema", {}), compile_schema(p.get("schema", {})))
            for p in parameters
            if p.get("in") == "path"
        }

    def fits(self, values: dict) -> bool:
        for name, (schema, validator) in self.parameters.items():
            raw = values.get(name)
            if raw is not None and not validator.is_valid(_typed(str(raw), schema)):
                return False
        return True
