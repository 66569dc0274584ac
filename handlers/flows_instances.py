"""`/flows/instances/`: flows."""

from app.crud import ResourceOperations

_flows = ResourceOperations("flows_instances", key="slug")

flows_instances_list = _flows.list
flows_instances_create = _flows.create
flows_instances_retrieve = _flows.retrieve
flows_instances_update = _flows.update
flows_instances_partial_update = _flows.partial_update
flows_instances_destroy = _flows.destroy
flows_instances_used_by_list = _flows.used_by_list
