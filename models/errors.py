"""What the store refuses, and why, in the words authentik's API uses for it.

The store knows nothing of HTTP: the web layer (`app/errors.py`) gives each refusal its
status and Django REST framework's body shape.
"""

# Data the database holds decides these messages, so they belong to the store.
DOES_NOT_EXIST = 'Invalid pk "{pk}" - object does not exist.'
UNKNOWN_CHOICE = "Select a valid choice. That choice is not one of the available choices."
UNKNOWN_CHOICES = "Select a valid choice. {value} is not one of the available choices."
NOT_UNIQUE_TOGETHER = "The fields {fields} must make a unique set."


class StoreError(Exception):
    """A request the store will not carry out; nothing was changed."""


class NotFound(StoreError):
    """No object matches the key (or the object is gone)."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class Invalid(StoreError):
    """Values the database contradicts (a taken name, a missing reference), by field."""

    def __init__(self, problems: dict[str, list[str]]):
        super().__init__(problems)
        self.problems = problems


class Refused(StoreError):
    """The objects' state does not allow the request (no flow configured, say)."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class Denied(StoreError):
    """The request is valid but the rules say no (a login that matching denies)."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message
