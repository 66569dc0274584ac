"""app/errors.py: each refusal of the store gets its status and DRF's body shape."""

import pytest

from app import errors
from models.errors import Denied, Invalid, NotFound, Refused, StoreError


@pytest.mark.parametrize(
    ("refusal", "status", "body"),
    [
        (NotFound("No Flow matches the given query."), 404,
         {"detail": "No Flow matches the given query."}),
        (Invalid({"slug": ["taken"]}), 400, {"slug": ["taken"]}),
        (Refused("Configured flow does not exist."), 400,
         {"detail": "Configured flow does not exist."}),
        (Denied("Access denied."), 403, {"detail": "Access denied."}),
    ],
)  # fmt: skip
def test_a_store_refusal_is_answered_in_drf_shape(refusal, status, body):
    answer = errors.from_store(refusal)
    assert (answer.status, answer.body) == (status, body)


def test_a_refusal_without_an_answer_is_a_programming_error():
    class Unmapped(StoreError):
        pass

    with pytest.raises(TypeError, match="no answer for Unmapped"):
        errors.from_store(Unmapped())
