"""models/identity.py: keys kept as digests; superusers by group."""

from models.identity import Group, Token, User


def test_a_key_is_kept_as_its_sha256_digest():
    digest = Token.digest("key")
    assert digest == "2c70e12b7a0646f92279f427c7b38e7334d8e5389cff167a1dc30e73f826b683"
    assert Token.digest("key\ud800") != digest  # any string, even a lone surrogate


def test_a_user_is_a_superuser_through_a_group():
    user = User(username="u", groups=[Group(name="g", is_superuser=False)])
    assert not user.is_superuser
    user.groups.append(Group(name="admins", is_superuser=True))
    assert user.is_superuser
