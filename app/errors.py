"""Every error the API answers with, in Django REST framework's shape.

Field errors are `{"field": ["message"]}`; everything else is `{"detail": "message"}`.
The message texts are authentik's (DRF's and Django's) wherever it has one. The store's
refusals (`models/errors.py`) carry their own messages; `from_store` gives them a status.
"""

from models.errors import Denied, Invalid, NotFound, Refused, StoreError

# Field validation (DRF serializer fields).
REQUIRED = "This field is required."
NOT_NULL = "This field may not be null."
BLANK = "This field may not be blank."
NOT_A_STRING = "Not a valid string."
NOT_A_BOOLEAN = "Must be a valid boolean."
NOT_AN_INTEGER = "A valid integer is required."
NOT_A_LIST = 'Expected a list of items but got type "{type}".'
MAX_LENGTH = "Ensure this field has no more than {limit} characters."
MAX_ITEMS = "Ensure this field has no more than {limit} elements."
MIN_VALUE = "Ensure this value is greater than or equal to {limit}."
MAX_VALUE = "Ensure this value is less than or equal to {limit}."
INVALID_CHOICE = '"{value}" is not a valid choice.'
INVALID_UUID = "“{value}” is not a valid UUID."
INVALID_EMAIL = "Enter a valid email address."
INVALID_DATETIME = (
    "Datetime has wrong format. Use one of these formats instead: "
    "YYYY-MM-DDThh:mm[:ss[.uuuuuu]][+HH:MM|-HH:MM|Z]."
)
INVALID_SLUG = 'Enter a valid "slug" consisting of letters, numbers, underscores or hyphens.'
PATTERN_MISMATCH = "This value does not match the required pattern."
NULL_CHARACTERS = "Null characters are not allowed."
SURROGATE_CHARACTERS = "Surrogate characters are not allowed: U+{code_point:X}."
NOT_A_DICT = "Invalid data. Expected a dictionary, but got {type}."
NO_DATA = "No data provided"
INVALID_JSON = "Value must be valid JSON."

# Query parameters (django-filter form fields).
FILTER_INVALID_UUID = "Enter a valid UUID."
FILTER_INVALID_CHOICE = "Select a valid choice. {value} is not one of the available choices."
FILTER_MAX_LENGTH = "Ensure this value has at most {limit} characters (it has {length})."
FILTER_INVALID_VALUE = "Enter a valid value."
FILTER_INVALID_DATETIME = "Enter a valid date/time."
FILTER_MAX_TERMS = "Ensure this value has at most {limit} search terms (it has {count})."

# Everything else.
NOT_AUTHENTICATED = "Authentication credentials were not provided."
TOKEN_INVALID = "Token invalid/expired"
PERMISSION_DENIED = "You do not have permission to perform this action."
NOT_FOUND = "Not found."
INVALID_PAGE = "Invalid page."
METHOD_NOT_ALLOWED = 'Method "{method}" not allowed.'
UNSUPPORTED_MEDIA_TYPE = 'Unsupported media type "{media_type}" in request.'
PARSE_ERROR = "JSON parse error - {reason}"
BODY_TOO_LARGE = "Request body exceeds the limit of {limit} bytes."
SERVER_ERROR = "A server error occurred."


class APIError(Exception):
    """An answer other than success: a status and a DRF-shaped body."""

    def __init__(self, status: int, body: dict | list, headers: dict | None = None):
        super().__init__(status, body)
        self.status = status
        self.body = body
        self.headers = headers or {}


def detail(status: int, message: str, headers: dict | None = None) -> APIError:
    return APIError(status, {"detail": message}, headers)


def invalid(errors: dict) -> APIError:
    """A 400 with field-keyed messages."""
    return APIError(400, errors)


def from_store(error: StoreError) -> APIError:
    """The answer to a request the store refused."""
    if isinstance(error, Invalid):
        return invalid(error.problems)
    if isinstance(error, NotFound):
        return detail(404, error.message)
    if isinstance(error, Denied):
        return detail(403, error.message)
    if isinstance(error, Refused):
        return detail(400, error.message)
    raise TypeError(f"no answer for {type(error).__name__}")  # a new kind must be mapped
