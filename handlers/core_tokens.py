"""`/core/tokens/`: API tokens. Keys are stored as digests: a key is shown once, in the
answer that creates its token (docs/behaviour.md §10)."""

from app import errors
from app.auth import current_audit, current_identity, current_store
from app.concurrency import reading, writing
from app.crud import ResourceOperations
from app.permissions import may_add
from models.accounts import generate_key
from models.resources import TOKENS, USERS

# A user's attribute that decides whether the tokens it makes for itself expire.
TOKEN_EXPIRES_ATTRIBUTE = "goauthentik.io/user/token-expires"
# Why view_key cannot answer, as a 400 (a status authentik's clients expect of it).
KEY_NOT_SHOWN = (
    "Token keys are stored as digests and cannot be shown: the key is in the answer that "
    "created the token or set its key. Choose a new one with set_key."
)

_tokens = ResourceOperations("core_tokens", key="identifier")

core_tokens_list = _tokens.list
core_tokens_retrieve = _tokens.retrieve
core_tokens_update = _tokens.update
core_tokens_partial_update = _tokens.partial_update
core_tokens_destroy = _tokens.destroy
core_tokens_used_by_list = _tokens.used_by_list


async def core_tokens_create(body):
    """Anyone may make tokens for itself; only holders of the global `add_token` for
    others. A caller without it gets the token as its own, whatever `user` said, and its
    `expiring` from its own attributes, as authentik does."""
    identity, store = current_identity(), current_store()
    body = {"intent": "api", "user": identity.user_id, **body}
    if not may_add(identity, TOKENS):
        me = await reading(store, store.representation, USERS, str(identity.user_id))
        expiring = me["attributes"].get(TOKEN_EXPIRES_ATTRIBUTE, True)
        body.update(user=identity.user_id, expiring=expiring is not False)
    key = generate_key()
    created = await writing(store, store.create, TOKENS, {**body, "key": key}, current_audit())
    return {**created, "key": key}, 201


async def core_tokens_set_key_create(identifier, body):
    store = current_store()
    audit = current_audit()
    await writing(store, store.update, TOKENS, identifier, {"key": body["key"]}, audit)
    return None, 204


async def core_tokens_view_key_retrieve(identifier):
    raise errors.invalid({"non_field_errors": [KEY_NOT_SHOWN]})
