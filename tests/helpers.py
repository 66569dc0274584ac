"""Helpers the tests share: the bootstrap key, the spec's operations, row counts and
objects made through the API."""

import yaml
from sqlalchemy import text

from app.main import SPEC_PATH
from models.base import Base

TOKEN = "test-bootstrap-key"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def empty_database(store):
    """Every table emptied but the install id, which the migration made once."""
    with store.engine.begin() as connection:
        for table in reversed(Base.metadata.sorted_tables):
            if table.name != "install_id":
                connection.execute(table.delete())
    store.ensure_bootstrap_token(TOKEN)


def spec_operations() -> dict[str, tuple[str, str]]:
    """Every operation of openapi/openapi.yaml: operationId -> (METHOD, path)."""
    spec = yaml.safe_load(SPEC_PATH.read_text())
    return {
        operation["operationId"]: (method.upper(), path)
        for path, item in spec["paths"].items()
        for method, operation in item.items()
        if method != "parameters"
    }


def count_rows(store, table: str) -> int:
    with store.engine.connect() as connection:
        return connection.execute(text(f'SELECT count(*) FROM "{table}"')).scalar_one()


def make_source(api, **fields) -> dict:
    body = {"name": "Plex", "slug": "plex", "plex_token": "owner-token", **fields}
    response = api.post("/sources/plex/", json=body)
    assert response.status_code == 201, response.text
    return response.json()


def make_flow(api, **fields) -> dict:
    body = {
        "name": "Plex login",
        "slug": "plex-login",
        "title": "Log in with Plex",
        "designation": "authentication",
        **fields,
    }
    response = api.post("/flows/instances/", json=body)
    assert response.status_code == 201, response.text
    return response.json()


def make_mapping(api, **fields) -> dict:
    body = {"name": "Plex email", "expression": "return {'email': info['email']}", **fields}
    response = api.post("/propertymappings/source/plex/", json=body)
    assert response.status_code == 201, response.text
    return response.json()
