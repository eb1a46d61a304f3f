"""What each ARM action does to the fleet, as Azure would, and when Azure refuses it.

`check_*` functions raise `ArmError` before an operation starts (ARM answers 4xx at once);
the others are the changes an operation makes when it succeeds (called with the fleet lock
held). Each takes the resource and returns nothing.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from .fleet import Fleet, iso, utcnow
from .resources import ScaleSet, ScaleSetInstance, VirtualMachine, new_host_id


class ArmError(Exception):
    """An ARM error answer: status and `{"error": {"code", "message"}}`."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


Machine = VirtualMachine | ScaleSetInstance


def _now() -> str:
    return iso(utcnow())


def _healthy(res: Machine) -> None:
    """Running, Available, annotation gone; an instance's health probe answers healthy again."""
    res.power_state = "running"
    res.provisioning_state = "Succeeded"
    if res.availability_state != "Available" or res.annotation:
        res.state_changed = _now()
    res.availability_state = "Available"
    res.annotation = None
    res.provisioning_error = None
    if isinstance(res, ScaleSetInstance):
        if res.health_state is not None:
            res.health_state = "Unhealthy" if res.scale_set.health_probe_broken else "Healthy"
    elif res.health_state is not None:  # a VM's application answers again on a healthy host
        res.health_state = "Healthy"
        res.state_changed = _now()


# -- machines (VMs and scale-set instances) --------------------------------------------------


BUSY_STATES = ("updating", "creating", "deleting", "migrating")


def check_machine_action(res: Machine, action: str) -> None:
    if res.provisioning_state.lower() in BUSY_STATES:
        raise ArmError(
            409,
            "Conflict",
            f"Operation '{action}' is not allowed on VM '{res.name}' while its provisioning state is"
            f" {res.provisioning_state}: another operation is in progress.",
        )
    if res.power_state in ("deallocated", "deallocating") and action in ("restart", "redeploy", "performMaintenance", "reimage"):
        raise ArmError(
            409,
            "OperationNotAllowed",
            f"Operation '{action}' is not allowed on VM '{res.name}' since the VM is deallocated or marked to be deallocated.",
        )
    if action == "performMaintenance":
        check_maintenance_allowed(res)


def check_maintenance_allowed(res: Machine) -> None:
    m = res.maintenance
    if not m or not m.get("isCustomerInitiatedMaintenanceAllowed"):
        raise ArmError(
            409,
            "OperationNotAllowed",
            f"Operation 'performMaintenance' is not allowed on VM '{res.name}' since the Subscription of this VM"
            " is not eligible or no customer-initiated maintenance is planned for it.",
        )
    now = utcnow()
    start, end = m.get("preMaintenanceWindowStartTime"), m.get("preMaintenanceWindowEndTime")
    try:
        if start and now < _parse(start) or end and now > _parse(end):
            raise ArmError(
                409,
                "OperationNotAllowed",
                f"Operation 'performMaintenance' is not allowed on VM '{res.name}' outside its self-service"
                f" maintenance window ({start} to {end}).",
            )
    except ValueError:
        pass  # a window the sim cannot read does not block the operation


def _parse(value: str) -> dt.datetime:
    value = re.sub(r"(\.\d{6})\d+", r"\1", value.replace("Z", "+00:00"))
    t = dt.datetime.fromisoformat(value)
    return t if t.tzinfo else t.replace(tzinfo=dt.UTC)


def begin_machine_action(res: Machine) -> None:
    """The state while an action runs."""
    res.provisioning_state = "Updating"


def end_failed_machine_action(res: Machine, action: str, error: dict[str, Any]) -> None:
    res.provisioning_state = "Succeeded"
    if action == "performMaintenance" and res.maintenance:
        res.maintenance = {
            **res.maintenance,
            "lastOperationResultCode": "MaintenanceAborted",
            "lastOperationMessage": error.get("message", "Maintenance failed."),
        }


def redeploy(res: Machine) -> None:
    """A new host: the degraded annotation and any planned maintenance of the old host are gone."""
    res.host_id = new_host_id()
    res.maintenance = None
    _healthy(res)


def restart(res: Machine) -> None:
    _healthy(res)


def reimage(res: Machine) -> None:
    if isinstance(res, ScaleSetInstance):
        res.latest_model_applied = True
    _healthy(res)


def perform_maintenance(res: Machine) -> None:
    res.host_id = new_host_id()
    res.maintenance = {
        **(res.maintenance or {}),
        "isCustomerInitiatedMaintenanceAllowed": False,
        "lastOperationResultCode": "MaintenanceCompleted",
        "lastOperationMessage": "Maintenance completed successfully.",
    }
    _healthy(res)


def start(res: Machine) -> None:
    res.power_state = "running"
    res.provisioning_state = "Succeeded"


def power_off(res: Machine) -> None:
    res.power_state = "stopped"
    res.provisioning_state = "Succeeded"


def deallocate(res: Machine) -> None:
    res.power_state = "deallocated"
    res.provisioning_state = "Succeeded"


MACHINE_ACTIONS = {
    "redeploy": redeploy,
    "restart": restart,
    "reimage": reimage,
    "performMaintenance": perform_maintenance,
    "start": start,
    "powerOff": power_off,
    "deallocate": deallocate,
}

# -- scale sets ------------------------------------------------------------------------------

_GRACE = re.compile(r"^PT(\d+)M$", re.IGNORECASE)


def check_orchestration(ss: ScaleSet, body: Any) -> tuple[str, str]:
    if not isinstance(body, dict):
        raise ArmError(400, "InvalidRequestContent", "The request content is missing or is not a JSON object.")
    service, action = body.get("serviceName"), body.get("action")
    if not service or not action:
        raise ArmError(400, "InvalidParameter", "Both 'serviceName' and 'action' are required.")
    if str(service).lower() != "automaticrepairs":
        raise ArmError(400, "InvalidParameter", f"Orchestration service '{service}' is not supported by the simulated Azure.")
    if str(action).lower() not in ("resume", "suspend"):
        raise ArmError(400, "InvalidParameter", f"Action '{action}' is not valid; expected Resume or Suspend.")
    action = "Resume" if str(action).lower() == "resume" else "Suspend"
    enabled = bool((ss.automatic_repairs_policy or {}).get("enabled"))
    if action == "Resume" and not enabled:
        raise ArmError(
            409,
            "OperationNotAllowed",
            f"Orchestration service 'AutomaticRepairs' cannot be resumed on '{ss.name}' because automatic repairs"
            " are not enabled on it.",
        )
    return "AutomaticRepairs", action


def set_orchestration(ss: ScaleSet, action: str) -> None:
    ss.orchestration_state = "Running" if action == "Resume" else "Suspended"
    ss.orchestration_changed = _now()


def check_instance_ids(ss: ScaleSet, body: Any, *, required: bool) -> list[str] | None:
    ids = body.get("instanceIds") if isinstance(body, dict) else None
    if ids is None:
        if required:
            raise ArmError(400, "InvalidParameter", "Required parameter 'instanceIds' is missing (null).")
        return None
    if not isinstance(ids, list) or not all(isinstance(i, (str, int)) for i in ids):
        raise ArmError(400, "InvalidParameter", "'instanceIds' must be a list of instance ids.")
    ids = [str(i) for i in ids]
    unknown = [i for i in ids if i not in ss.instances]
    if unknown:
        raise ArmError(
            400,
            "InvalidParameter",
            f"The provided instanceId(s) {unknown} are not active Virtual Machine Scale Set VM instanceId(s).",
        )
    return ids


def delete_instances(fleet: Fleet, ss: ScaleSet, ids: list[str]) -> None:
    for iid in ids:
        inst = ss.instances.get(iid)
        if inst is not None:
            fleet.remove_instance(inst)
    ss.capacity = len(ss.instances)


def check_update(ss: ScaleSet, body: Any) -> dict[str, Any]:
    """The parts of a PATCH the simulated Azure acts on: capacity, repairs policy, tags."""
    if not isinstance(body, dict):
        raise ArmError(400, "InvalidRequestContent", "The request content is missing or is not a JSON object.")
    change: dict[str, Any] = {}
    sku = body.get("sku") or {}
    if "capacity" in sku:
        cap = sku["capacity"]
        if not isinstance(cap, int) or cap < 0 or cap > 1000:
            raise ArmError(400, "InvalidParameter", f"sku.capacity {cap!r} must be an integer from 0 to 1000.")
        change["capacity"] = cap
    props = body.get("properties") or {}
    if "automaticRepairsPolicy" in props:
        policy = props["automaticRepairsPolicy"] or {}
        grace = policy.get("gracePeriod")
        if grace is not None:
            m = _GRACE.match(str(grace))
            if not m or not 10 <= int(m.group(1)) <= 90:
                raise ArmError(
                    400,
                    "InvalidParameter",
                    f"The value '{grace}' of automaticRepairsPolicy.gracePeriod is invalid: it must be an ISO 8601"
                    " duration from PT10M to PT90M.",
                )
        action = policy.get("repairAction")
        if action is not None and action not in ("Replace", "Restart", "Reimage"):
            raise ArmError(400, "InvalidParameter", f"repairAction {action!r} must be Replace, Restart or Reimage.")
        change["automaticRepairsPolicy"] = policy
    if "tags" in body:
        change["tags"] = dict(body["tags"] or {})
    return change


def update_scale_set(fleet: Fleet, ss: ScaleSet, change: dict[str, Any]) -> None:
    if "automaticRepairsPolicy" in change:
        merged = {**(ss.automatic_repairs_policy or {"enabled": False, "gracePeriod": "PT10M"}), **change["automaticRepairsPolicy"]}
        was = bool((ss.automatic_repairs_policy or {}).get("enabled"))
        ss.automatic_repairs_policy = merged
        now_enabled = bool(merged.get("enabled"))
        if now_enabled and not was and ss.orchestration_state == "NotRunning":
            set_orchestration(ss, "Resume")
        elif was and not now_enabled:
            ss.orchestration_state = "NotRunning"
            ss.orchestration_changed = _now()
    if "tags" in change:
        ss.tags = change["tags"]
    if "capacity" in change:
        if ss.orchestration_mode == "Flexible":
            from . import flexible  # flexible imports this module's ArmError

            flexible.scale_to(fleet, ss, change["capacity"])
        else:
            scale_to(fleet, ss, change["capacity"])
    ss.provisioning_state = "Succeeded"


def scale_to(fleet: Fleet, ss: ScaleSet, capacity: int) -> None:
    """Add new healthy instances, or remove the newest ones, until the set has `capacity`."""
    while len(ss.instances) < capacity:
        fresh = {
            "provisioningState": "Succeeded",
            "provisioningError": None,
            "powerState": "running",
            "availabilityState": "Available",
            "annotation": None,
            "maintenance": None,
            "healthState": None if "healthState" in ss.instance_defaults and ss.instance_defaults["healthState"] is None else "Healthy",
            "latestModelApplied": True,
            "timeCreated": "now",
            "stateChanged": "now",
        }
        fleet.add_instance_spec(ss, fresh, where=f"{ss.name} scale-out")
    if len(ss.instances) > capacity:
        newest_first = sorted(ss.instances, key=lambda i: (len(i), i), reverse=True)
        for iid in newest_first[: len(ss.instances) - capacity]:
            fleet.remove_instance(ss.instances[iid])
    ss.capacity = len(ss.instances)
