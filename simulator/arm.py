"""The ARM routes of the simulated Azure: Compute (VMs, scale sets, instances), operation status
and Resource Health availability statuses, over a `Fleet` and its `Operations`.

Paths are matched case-insensitively, as ARM does; every request must carry an api-version.
"""

from __future__ import annotations

import functools
import re
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import quote, urlencode

from . import effects, flexible, shapes
from .effects import ArmError
from .fleet import Fleet
from .operations import Operation, Operations
from .resources import ScaleSet, ScaleSetInstance, VirtualMachine
from .server import COUNT_AUTO, COUNT_POLL, Request, Response, SimServer, arm_error

SUB = r"/subscriptions/(?P<sub>[^/]+)"
RG = SUB + r"/resourceGroups/(?P<rg>[^/]+)"
COMPUTE = r"/providers/Microsoft\.Compute"
VM = RG + COMPUTE + r"/virtualMachines/(?P<vm>[^/]+)"
SS = RG + COMPUTE + r"/virtualMachineScaleSets/(?P<ss>[^/]+)"
SSVM = SS + r"/virtualMachines/(?P<iid>[^/]+)"
OPERATION = SUB + COMPUTE + r"/locations/(?P<loc>[^/]+)/operations/(?P<op>[^/]+)"
HEALTH = r"/providers/Microsoft\.ResourceHealth/availabilityStatuses"
SCHEDULE = RG + r"/providers/Microsoft\.DevTestLab/schedules/(?P<schedule>[^/]+)"
SHUTDOWN_PREFIX = "shutdown-computevm-"

_API_VERSION = re.compile(r"^\d{4}-\d{2}-\d{2}(-preview|-beta)?$", re.IGNORECASE)
DEFAULT_FAILURE = {"code": "InternalOperationError", "message": "The operation failed in the simulated Azure."}

VM_ACTIONS = ("redeploy", "restart", "reimage", "performMaintenance", "start", "powerOff", "deallocate")
INSTANCE_ACTIONS = VM_ACTIONS
SCALE_SET_ACTIONS = ("redeploy", "restart", "reimage", "performMaintenance", "start", "powerOff", "deallocate")


class ArmApi:
    """Serves a fleet through ARM routes registered on a `SimServer`."""

    def __init__(
        self,
        fleet: Fleet,
        operations: Operations,
        *,
        operation_delay: Callable[[str], float],
        page_size: Callable[[], int],
        retry_after: Callable[[], int],
    ) -> None:
        self.fleet = fleet
        self.ops = operations
        self.operation_delay = operation_delay
        self.page_size = page_size
        self.retry_after = retry_after

    # -- registration -----------------------------------------------------------------------

    def register(self, server: SimServer) -> None:
        r = functools.partial(self._route, server)
        r("GET", SUB, self.get_subscription)
        r("GET", RG, self.get_resource_group)
        r("GET", SUB + COMPUTE + r"/virtualMachines", self.list_vms)
        r("GET", RG + COMPUTE + r"/virtualMachines", self.list_vms)
        r("GET", VM, self.get_vm)
        r("GET", VM + r"/instanceView", self.vm_instance_view)
        r("POST", VM + r"/(?P<action>" + "|".join(VM_ACTIONS) + ")", self.vm_action)
        r("GET", SUB + COMPUTE + r"/virtualMachineScaleSets", self.list_scale_sets)
        r("GET", RG + COMPUTE + r"/virtualMachineScaleSets", self.list_scale_sets)
        r("GET", SS, self.get_scale_set)
        r("PATCH", SS, self.update_scale_set)
        r("GET", SS + r"/instanceView", self.scale_set_instance_view)
        r("POST", SS + r"/setOrchestrationServiceState", self.set_orchestration_service_state)
        r("POST", SS + r"/delete", self.delete_instances)
        r("POST", SS + r"/(?P<action>" + "|".join(SCALE_SET_ACTIONS) + ")", self.scale_set_action)
        r("GET", SS + r"/virtualMachines", self.list_instances)
        r("GET", SSVM, self.get_instance)
        r("DELETE", SSVM, self.delete_instance)
        r("GET", SSVM + r"/instanceView", self.instance_instance_view)
        r("POST", SSVM + r"/(?P<action>" + "|".join(INSTANCE_ACTIONS) + ")", self.instance_action)
        r("GET", OPERATION, self.operation_status, counter=COUNT_POLL)
        r("GET", r"(?P<uri>/subscriptions/.+?)" + HEALTH + r"/current", self.availability_status)
        r("GET", SUB + HEALTH, self.list_availability_statuses)
        r("GET", RG + HEALTH, self.list_availability_statuses)
        r("GET", SCHEDULE, self.get_schedule)

    def _route(self, server: SimServer, method: str, pattern: str, handler: Callable, *, counter: str = COUNT_AUTO) -> None:
        server.add_route(method, pattern, functools.partial(self._serve, handler), counter=counter)

    def _serve(self, handler: Callable[[Request], Any], request: Request) -> Any:
        try:
            version = request.param("api-version")
            if not version:
                raise ArmError(
                    400,
                    "MissingApiVersionParameter",
                    "The api-version query parameter (?api-version=) is required for all requests.",
                )
            if not _API_VERSION.match(version):
                raise ArmError(
                    400,
                    "InvalidApiVersionParameter",
                    f"The api-version '{version}' is invalid. The supported versions are like '2026-04-01'.",
                )
            self.ops.tick()
            with self.fleet.lock:
                return handler(request)
        except ArmError as exc:
            return arm_error(exc.status, exc.code, exc.message)

    # -- look-ups ---------------------------------------------------------------------------

    def _subscription(self, request: Request) -> str:
        sub = request.match["sub"]
        if sub.lower() not in self.fleet.subscriptions:
            raise ArmError(404, "SubscriptionNotFound", f"The subscription '{sub}' could not be found.")
        return sub

    def _missing(self, request: Request, kind: str, name: str) -> ArmError:
        sub = self._subscription(request)
        rg = request.match["rg"]
        if not self.fleet.has_resource_group(sub, rg):
            return ArmError(404, "ResourceGroupNotFound", f"Resource group '{rg}' could not be found.")
        return ArmError(
            404,
            "ResourceNotFound",
            f"The Resource 'Microsoft.Compute/{kind}/{name}' under resource group '{rg}' was not found."
            " For more details please go to https://aka.ms/ARMResourceNotFoundFix",
        )

    def _vm(self, request: Request) -> VirtualMachine:
        found = self.fleet.get(_id(request, "virtualMachines", request.match["vm"]))
        if not isinstance(found, VirtualMachine):
            raise self._missing(request, "virtualMachines", request.match["vm"])
        return found

    def _scale_set(self, request: Request) -> ScaleSet:
        found = self.fleet.get(_id(request, "virtualMachineScaleSets", request.match["ss"]))
        if not isinstance(found, ScaleSet):
            raise self._missing(request, "virtualMachineScaleSets", request.match["ss"])
        return found

    def _instance(self, request: Request) -> ScaleSetInstance:
        ss = self._scale_set(request)
        inst = ss.instance(request.match["iid"])
        if inst is None:
            raise ArmError(
                404,
                "NotFound",
                f"The entity was not found in this Azure location: instance '{request.match['iid']}' of '{ss.name}'.",
            )
        return inst

    # -- paging -----------------------------------------------------------------------------

    def _page(self, request: Request, items: list, render: Callable[[Any], dict]) -> dict[str, Any]:
        try:
            skip = int(request.param("$skipToken") or 0)
        except ValueError:
            raise ArmError(400, "InvalidSkipToken", "The $skipToken is not valid.") from None
        size = max(1, self.page_size())
        body: dict[str, Any] = {"value": [render(x) for x in items[skip : skip + size]]}
        if skip + size < len(items):
            query = {k: v for k, v in request.query.items() if k.lower() != "$skiptoken"}
            query["$skipToken"] = str(skip + size)
            body["nextLink"] = f"{_base(request)}{quote(request.path)}?{urlencode(query, safe='$')}"
        return body

    # -- subscriptions ----------------------------------------------------------------------

    def get_subscription(self, request: Request) -> Any:
        sub = self._subscription(request)
        info = self.fleet.subscriptions[sub.lower()]
        return {
            "id": f"/subscriptions/{info['subscriptionId']}",
            "subscriptionId": info["subscriptionId"],
            "displayName": info["displayName"],
            "state": info["state"],
        }

    def get_resource_group(self, request: Request) -> Any:
        sub = self._subscription(request)
        group = self.fleet.resource_group(sub, request.match["rg"])
        if group is None:
            raise ArmError(404, "ResourceGroupNotFound", f"Resource group '{request.match['rg']}' could not be found.")
        return shapes.resource_group(group)

    # -- virtual machines -------------------------------------------------------------------

    def list_vms(self, request: Request) -> Any:
        sub = self._subscription(request)
        rg = request.match.groupdict().get("rg")
        if rg is not None and not self.fleet.has_resource_group(sub, rg):
            raise ArmError(404, "ResourceGroupNotFound", f"Resource group '{rg}' could not be found.")
        vms = self.fleet.vms_in(sub, rg)
        member_of = flexible.scale_set_filter(request.param("$filter"))
        if member_of is not None:
            vms = [vm for vm in vms if (vm.scale_set_id or "").lower() == member_of]
        if (request.param("statusOnly") or "").lower() == "true":
            return self._page(request, vms, shapes.vm_status_only)
        expand = (request.param("$expand") or "").lower() == "instanceview"
        if expand and member_of is None and rg is not None:  # Azure: $expand=instanceView needs the $filter
            raise ArmError(400, "InvalidParameter", "$expand=instanceView can only be specified with a valid $filter "
                           "on virtualMachineScaleSet/id.")  # fmt: skip
        return self._page(request, vms, functools.partial(shapes.vm_model, instance_view=expand))

    def get_vm(self, request: Request) -> Any:
        vm = self._vm(request)
        return shapes.vm_model(vm, instance_view=(request.param("$expand") or "").lower() == "instanceview")

    def vm_instance_view(self, request: Request) -> Any:
        return shapes.vm_instance_view(self._vm(request))

    def vm_action(self, request: Request) -> Response:
        return self._machine_action(request, self._vm(request), _action(request))

    def get_schedule(self, request: Request) -> Any:
        """A VM's auto-shutdown schedule; ResourceNotFound for a VM without one, as ARM answers."""
        name = request.match["schedule"]
        vm = None
        if name.lower().startswith(SHUTDOWN_PREFIX):
            vm = self.fleet.get(_id(request, "virtualMachines", name[len(SHUTDOWN_PREFIX):]))
        if not isinstance(vm, VirtualMachine) or vm.auto_shutdown is None:
            rg = request.match["rg"]
            raise ArmError(404, "ResourceNotFound", f"The Resource 'Microsoft.DevTestLab/schedules/{name}' under resource "
                           f"group '{rg}' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix")
        return shapes.auto_shutdown_schedule(vm)

    # -- scale sets -------------------------------------------------------------------------

    def list_scale_sets(self, request: Request) -> Any:
        sub = self._subscription(request)
        rg = request.match.groupdict().get("rg")
        if rg is not None and not self.fleet.has_resource_group(sub, rg):
            raise ArmError(404, "ResourceGroupNotFound", f"Resource group '{rg}' could not be found.")
        return self._page(request, self.fleet.scale_sets_in(sub, rg), shapes.scale_set_model)

    def get_scale_set(self, request: Request) -> Any:
        return shapes.scale_set_model(self._scale_set(request))

    def scale_set_instance_view(self, request: Request) -> Any:
        ss = self._scale_set(request)
        flexible.refuse_uniform_only(ss, "Get instance view")
        return shapes.scale_set_instance_view(ss)

    def update_scale_set(self, request: Request) -> Response:
        ss = self._scale_set(request)
        change = effects.check_update(ss, request.body)
        self._not_busy(ss.id, "update")
        before = ss.provisioning_state
        ss.provisioning_state = "Updating"

        def on_fail(error: dict[str, Any]) -> None:
            ss.provisioning_state = before

        op = self._start(
            request, "update", ss, lambda: effects.update_scale_set(self.fleet, ss, change), on_fail=on_fail
        )
        return Response(200, shapes.scale_set_model(ss), self._operation_headers(request, op))

    def set_orchestration_service_state(self, request: Request) -> Response:
        ss = self._scale_set(request)
        flexible.refuse_uniform_only(ss, "Set orchestration service state")
        _, action = effects.check_orchestration(ss, request.body)
        self._not_busy(ss.id, "setOrchestrationServiceState")
        op = self._start(request, "setOrchestrationServiceState", ss, lambda: effects.set_orchestration(ss, action))
        return self._accepted(request, op)

    def delete_instances(self, request: Request) -> Response:
        ss = self._scale_set(request)
        if flexible.is_flexible(ss):
            return self._delete_flexible_members(request, ss)
        ids = effects.check_instance_ids(ss, request.body, required=True)
        busy = [ss.instances[i].id for i in ids]
        for rid in busy:
            self._not_busy(rid, "delete")
        for i in ids:
            ss.instances[i].provisioning_state = "Deleting"

        def on_fail(error: dict[str, Any]) -> None:
            for i in ids:
                if i in ss.instances:
                    ss.instances[i].provisioning_state = "Succeeded"

        op = self._start(
            request, "deleteInstances", ss, lambda: effects.delete_instances(self.fleet, ss, ids), on_fail=on_fail,
            busy_ids=busy,
        )  # fmt: skip
        op.details["instanceIds"] = ids
        return self._accepted(request, op)

    def _delete_flexible_members(self, request: Request, ss: ScaleSet) -> Response:
        """A Flexible set's batch delete: `instanceIds` are its VMs' names."""
        vms = flexible.check_member_names(self.fleet, ss, request.body)
        for vm in vms:
            self._not_busy(vm.id, "delete")
        for vm in vms:
            vm.provisioning_state = "Deleting"

        def on_fail(error: dict[str, Any]) -> None:
            for vm in vms:
                vm.provisioning_state = "Succeeded"

        op = self._start(request, "deleteInstances", ss, lambda: flexible.delete_members(self.fleet, ss, vms),
                         on_fail=on_fail, busy_ids=[vm.id for vm in vms])  # fmt: skip
        op.details["instanceIds"] = [vm.name for vm in vms]
        return self._accepted(request, op)

    def scale_set_action(self, request: Request) -> Response:
        ss = self._scale_set(request)
        flexible.refuse_uniform_only(ss, f"Scale set {_action(request)}")
        action = _action(request)
        ids = effects.check_instance_ids(ss, request.body, required=False) or list(ss.instances)
        targets = [ss.instances[i] for i in ids]
        for inst in targets:
            effects.check_machine_action(inst, action)
            self._not_busy(inst.id, action)
        for inst in targets:
            effects.begin_machine_action(inst)
        change = effects.MACHINE_ACTIONS[action]

        def apply() -> None:
            for inst in targets:
                if inst.instance_id in ss.instances:
                    change(inst)

        def on_fail(error: dict[str, Any]) -> None:
            for inst in targets:
                effects.end_failed_machine_action(inst, action, error)

        op = self._start(request, action, ss, apply, on_fail=on_fail, busy_ids=[i.id for i in targets])
        return self._accepted(request, op)

    # -- scale-set instances ----------------------------------------------------------------

    def list_instances(self, request: Request) -> Any:
        ss = self._scale_set(request)
        flexible.refuse_uniform_only(ss, "Listing scale set VMs")
        expand = (request.param("$expand") or "").lower() == "instanceview"
        render = functools.partial(shapes.instance_model, with_instance_view=expand)
        return self._page(request, list(ss.instances.values()), render)

    def get_instance(self, request: Request) -> Any:
        inst = self._instance(request)
        return shapes.instance_model(inst, with_instance_view=(request.param("$expand") or "").lower() == "instanceview")

    def instance_instance_view(self, request: Request) -> Any:
        return shapes.instance_view(self._instance(request))

    def instance_action(self, request: Request) -> Response:
        return self._machine_action(request, self._instance(request), _action(request))

    def delete_instance(self, request: Request) -> Response:
        inst = self._instance(request)
        ss = inst.scale_set
        self._not_busy(inst.id, "delete")
        inst.provisioning_state = "Deleting"

        def on_fail(error: dict[str, Any]) -> None:
            inst.provisioning_state = "Succeeded"

        op = self._start(
            request, "delete", inst, lambda: effects.delete_instances(self.fleet, ss, [inst.instance_id]), on_fail=on_fail
        )
        return self._accepted(request, op)

    # -- machine actions (VMs and instances) ------------------------------------------------

    def _machine_action(self, request: Request, res: VirtualMachine | ScaleSetInstance, action: str) -> Response:
        effects.check_machine_action(res, action)
        self._not_busy(res.id, action)
        effects.begin_machine_action(res)
        change = effects.MACHINE_ACTIONS[action]
        op = self._start(
            request,
            action,
            res,
            lambda: change(res),
            on_fail=lambda error: effects.end_failed_machine_action(res, action, error),
        )
        return self._accepted(request, op)

    # -- operations -------------------------------------------------------------------------

    def _not_busy(self, resource_id: str, action: str) -> None:
        running = self.ops.busy(resource_id)
        if running is not None:
            raise ArmError(
                409,
                "Conflict",
                f"Operation '{action}' is not allowed while operation '{running.action}' ({running.id}) is in progress"
                f" on '{running.resource_id}'.",
            )

    def _start(
        self,
        request: Request,
        action: str,
        resource: Any,
        apply: Callable[[], Any],
        *,
        on_fail: Callable[[dict[str, Any]], Any] | None = None,
        busy_ids: list[str] | None = None,
    ) -> Operation:
        fail_with = None
        if request.fault is not None and request.fault.kind == "fail-operation":
            fail_with = {
                "code": request.fault.code or DEFAULT_FAILURE["code"],
                "message": request.fault.message or DEFAULT_FAILURE["message"],
            }
        return self.ops.start(
            action,
            resource,
            apply,
            delay=self.operation_delay(action),
            fail_with=fail_with,
            on_fail=on_fail,
            busy_ids=busy_ids,
        )

    def _operation_headers(self, request: Request, op: Operation) -> dict[str, str]:
        version = request.param("api-version")
        url = (
            f"{_base(request)}/subscriptions/{op.subscription_id}/providers/Microsoft.Compute/locations/{op.location}"
            f"/operations/{op.id}?p={uuid.uuid4()}&api-version={version}"
        )
        return {
            "Azure-AsyncOperation": url,
            "Location": url + "&monitor=true",
            "Retry-After": str(self.retry_after()),
        }

    def _accepted(self, request: Request, op: Operation) -> Response:
        return Response(202, None, self._operation_headers(request, op))

    def operation_status(self, request: Request) -> Response:
        op = self.ops.get(request.match["op"])
        if op is None or op.subscription_id.lower() != request.match["sub"].lower():
            raise ArmError(404, "NotFound", f"Operation '{request.match['op']}' was not found.")
        retry = {"Retry-After": str(self.retry_after())}
        if (request.param("monitor") or "").lower() == "true":  # the Location URL
            if not op.done:
                return Response(202, None, {"Location": _base(request) + request.raw_path, **retry})
            if op.status == "Succeeded":
                return Response(204) if op.result is None else Response(200, op.result)
            error = op.error or DEFAULT_FAILURE
            return arm_error(409 if op.status == "Canceled" else 400, error["code"], error["message"])
        return Response(200, op.as_status(), {} if op.done else retry)

    # -- Resource Health --------------------------------------------------------------------

    def availability_status(self, request: Request) -> Any:
        uri = request.match["uri"]
        res = self.fleet.get(uri)
        if res is None:
            m = re.match(SUB, uri, re.IGNORECASE)
            if m and m["sub"].lower() not in self.fleet.subscriptions:
                raise ArmError(404, "SubscriptionNotFound", f"The subscription '{m['sub']}' could not be found.")
            raise ArmError(404, "ResourceNotFound", f"The resource '{uri}' was not found.")
        return shapes.availability_status(res)

    def list_availability_statuses(self, request: Request) -> Any:
        sub = self._subscription(request)
        rg = request.match.groupdict().get("rg")
        items: list[Any] = [*self.fleet.vms_in(sub, rg), *self.fleet.scale_sets_in(sub, rg)]
        return self._page(request, items, shapes.availability_status)


def _id(request: Request, kind: str, name: str) -> str:
    return f"/subscriptions/{request.match['sub']}/resourceGroups/{request.match['rg']}/providers/Microsoft.Compute/{kind}/{name}"


def _action(request: Request) -> str:
    wanted = request.match["action"].lower()
    return next(a for a in VM_ACTIONS if a.lower() == wanted)


def _base(request: Request) -> str:
    host = request.header("host")
    if not host and request.server is not None:
        return request.server.base_url
    return f"https://{host}"
