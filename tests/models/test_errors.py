"""models/errors.py: each refusal carries what the web layer needs to answer it."""

from models.errors import DOES_NOT_EXIST, NOT_UNIQUE_TOGETHER, Denied, Invalid, NotFound


def test_refusals_keep_their_messages():
    assert NotFound("gone").message == "gone"
    assert Denied("no").message == "no"
    assert Invalid({"f": ["bad"]}).problems == {"f": ["bad"]}
    assert DOES_NOT_EXIST.format(pk="x") == 'Invalid pk "x" - object does not exist.'
    assert NOT_UNIQUE_TOGETHER.format(fields="user, source") == (
        "The fields user, source must make a unique set."
    )
