"""app/crud.py and the declarations it joins: the YAML's operations and parameters, the
resources' filters (models/resources.py), the handlers and the permission rules must
agree. Each test fails on a drift between them."""

import inspect

import pytest
import yaml
from connexion.json_schema import resolve_refs

import handlers
from app.crud import LIST_PARAMETERS
from app.main import SPEC_PATH
from app.permissions import AUTHENTICATED_ONLY, operation_resource
from handlers.rbac_permissions import _FILTERS as CATALOGUE_FILTERS

SPEC = resolve_refs(yaml.safe_load(SPEC_PATH.read_text()))
OPERATIONS = {
    operation["operationId"]: (path, item, operation)
    for path, item in SPEC["paths"].items()
    for method, operation in item.items()
    if method != "parameters"
}
LISTS = sorted(
    op
    for op in OPERATIONS
    if op.endswith("_list") and not op.endswith("used_by_list") and op not in AUTHENTICATED_ONLY
)


def _parameters(operation_id: str, where: str) -> dict:
    _path, item, operation = OPERATIONS[operation_id]
    declared = [*item.get("parameters", []), *operation.get("parameters", [])]
    return {p["name"]: p for p in declared if p["in"] == where}


@pytest.mark.parametrize("operation_id", LISTS)
def test_a_lists_filters_are_its_resources(operation_id):
    resource, _action = operation_resource(operation_id)
    filters = set(_parameters(operation_id, "query")) - set(LIST_PARAMETERS)
    assert filters == set(resource.filters) | set(resource.filter_clauses)
    assert set(LIST_PARAMETERS) <= set(_parameters(operation_id, "query"))


@pytest.mark.parametrize("operation_id", LISTS)
def test_filters_that_name_objects_say_so_in_the_spec(operation_id):
    resource, _action = operation_resource(operation_id)
    query = _parameters(operation_id, "query")
    referring = {name for name, p in query.items() if "x-references" in p["schema"]}
    assert referring == set(resource.relation_filters)
    for name in referring:
        model = resource.relation_filters[name].class_
        assert query[name]["schema"]["x-references"] == model.__name__


@pytest.mark.parametrize("operation_id", sorted(OPERATIONS))
def test_every_operation_has_a_permission_rule(operation_id):
    resource, action = operation_resource(operation_id)  # raises LookupError if not
    if operation_id in AUTHENTICATED_ONLY:  # the catalogue and the event actions
        assert resource is None
    else:
        assert action and resource.codename("view")


def test_the_catalogues_filters_are_its_handlers():
    filters = set(_parameters("rbac_permissions_list", "query")) - set(LIST_PARAMETERS)
    assert filters == set(CATALOGUE_FILTERS) | {"role"}


@pytest.mark.parametrize("operation_id", sorted(OPERATIONS))
def test_every_handler_takes_what_the_spec_passes(operation_id):
    """A handler declares the path parameters of its operation, and the body if the
    operation has one: Connexion passes what the signature names."""
    handler = getattr(handlers, operation_id)
    taken = set(inspect.signature(handler).parameters)
    path = set(_parameters(operation_id, "path"))
    _path, _item, operation = OPERATIONS[operation_id]
    expected = path | ({"body"} if "requestBody" in operation else set())
    assert expected <= taken
    assert taken - expected <= set(_parameters(operation_id, "query"))
