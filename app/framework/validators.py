"""Connexion's request and response validators, with our checks and DRF's words
(`app/validation.py`) in them. Plugged in through the app's `validator_map`."""

import json

from connexion.datastructures import MediaTypeDict
from connexion.validators import (
    JSONRequestBodyValidator,
    JSONResponseBodyValidator,
    ParameterValidator,
)
from starlette.datastructures import Headers

from app import errors
from app.validation import (
    FORMATS,
    MAX_BODY_BYTES,
    CompiledQuery,
    ResponseSchemaValidator,
    body_too_large,
    compiled_body,
    parse_json,
)

VALIDATED_BODY = "validated_body"
"""Where BodyValidator leaves the body it checked, in the request's Connexion context."""
VALIDATED_QUERY = "validated_query"
"""Where QueryValidator leaves the query parameters it checked, typed, likewise."""


class BodyValidator(JSONRequestBodyValidator):
    """JSON bodies: size cap, UTF-8, trimmed strings, DRF-shaped field errors."""

    async def wrap_receive(self, receive, *, scope):
        declared = Headers(scope=scope).get("content-length", "")
        if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
            raise body_too_large()
        messages, size = [], 0
        more_body = True
        while more_body:
            message = await receive()
            messages.append(message)
            size += len(message.get("body", b""))
            if size > MAX_BODY_BYTES:
                raise body_too_large()
            more_body = message.get("more_body", False)
        raw = b"".join(m.get("body", b"") for m in messages)
        # An empty body is an empty object to DRF: every required field is then missing.
        # Whitespace is not empty: DRF's JSON parser refuses it, and so does parse_json.
        body = parse_json(raw) if raw else {}
        fields, problems = compiled_body(self._schema).clean(body)
        if problems:
            raise errors.invalid(problems)
        # Kept for the handler's arguments, so that the body is parsed once (async flavour).
        context = scope.setdefault("extensions", {}).setdefault("connexion_context", {})
        context[VALIDATED_BODY] = fields
        # The Flask flavour reads the body again: it must say what the handler is to get.
        # The length is declared because WSGI reads a chunked body without it as empty.
        if fields != body or not raw:
            raw = json.dumps(fields).encode()
        scope = {**scope, "headers": _as_json_body(scope["headers"], len(raw))}
        replay = [{"type": "http.request", "body": raw, "more_body": False}]
        return self._insert_messages(receive, messages=replay), scope


def _as_json_body(headers: list, length: int) -> list:
    """Headers for the replayed body: JSON (also when the client named no type, which
    Connexion then assumes), of the given length, not chunked."""
    replaced = (b"content-length", b"transfer-encoding", b"content-type")
    kept = [(k, v) for k, v in headers if k.lower() not in replaced]
    return [*kept, (b"content-type", b"application/json"), (b"content-length", b"%d" % length)]


class ResponseBodyValidator(JSONResponseBodyValidator):
    """Connexion's response check, with `nullable` beside `allOf` honoured, and no
    body expected of an answer to HEAD."""

    def wrap_send(self, send):
        if self._scope.get("method") == "HEAD":
            return send
        return super().wrap_send(send)

    @property
    def validator(self):
        return ResponseSchemaValidator(self._schema, format_checker=FORMATS)


class QueryValidator(ParameterValidator):
    """Query parameters, checked against their schemas in the spec."""

    def __init__(self, parameters, uri_parser, strict_validation=False, **kwargs):
        super().__init__(parameters, uri_parser, strict_validation, **kwargs)
        self.query = CompiledQuery(parameters)

    def validate(self, scope):
        # Connexion's own builds a request object first; the query string is all this needs.
        values, problems = self.query.check(scope.get("query_string", b""))
        if problems:
            raise errors.invalid(problems)
        scope.setdefault("extensions", {}).setdefault("connexion_context", {})[VALIDATED_QUERY] = (
            values
        )


def validator_map() -> dict:
    return {
        "parameter": QueryValidator,
        "body": MediaTypeDict({"*/*json": BodyValidator}),
        "response": MediaTypeDict({"*/*json": ResponseBodyValidator}),
    }
