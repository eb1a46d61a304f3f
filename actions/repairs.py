"""Scale-set automatic repairs: resume them when suspended, enable them when off.

Azure suspends repairs after repeated failed repairs, and a repair cannot help when the
health probe or the application is what is wrong: then every instance reads unhealthy and
repairs would only be suspended again. Both actions therefore refuse while too large a share
of the instances is unhealthy, and tell a person to fix the probe or the application first.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, ClassVar

from arm import SCALE_SET, ResourceId

from . import lro
from .base import Executor
from .errors import AzureCallError, InvalidParameterError
from .live_state import (
    READ_SCALE_SET,
    READ_SCALE_SET_INSTANCE_VIEW,
    READ_SCALE_SET_VMS,
    READ_VMS,
    Instance,
    read_instances,
    read_scale_set,
    read_scale_set_view,
)
from .registry import registry
from .results import Operation, OperationStatus, Recovery, Verdict
from .statuses import provisioning_busy

AUTOMATIC_REPAIRS = "AutomaticRepairs"
_DURATION = re.compile(r"^PT(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?$", re.IGNORECASE)


def grace_period(value: Any) -> str:
    """An ISO 8601 duration Azure accepts for the repairs grace period (PT10M to PT90M)."""
    match = _DURATION.match(str(value or ""))
    if not match or not any(match.groups()):
        raise InvalidParameterError(f"grace_period must be an ISO 8601 duration like PT30M, not {value!r}")
    hours, minutes, seconds = (int(g or 0) for g in match.groups())
    total = hours * 3600 + minutes * 60 + seconds
    if not 600 <= total <= 5400:
        raise InvalidParameterError(f"grace_period must be between PT10M and PT90M, not {value}")
    return str(value).upper()


def unhealthy_facts(instances: list[Instance]) -> tuple[int, int, float]:
    total = len(instances)
    unhealthy = sum(1 for i in instances if i.health == "unhealthy")
    return unhealthy, total, (unhealthy / total if total else 0.0)


def too_unhealthy(unhealthy: int, total: int, share: float, limit: float) -> str | None:
    """A refusal when repairs would meet a broken probe or application rather than broken machines."""
    if total and share >= limit:
        return (
            f"too many unhealthy instances: {unhealthy} of {total} ({share:.0%}) are unhealthy, at or above the "
            f"{limit:.0%} limit; repairs would only be suspended again: fix the health probe or the "
            "application first"
        )
    return None


class RepairsAction(Executor):
    applies_to = (SCALE_SET,)

    def _poll_step(self, clients: Any, ref: ResourceId, state: dict[str, Any], op: Operation) -> OperationStatus:
        begin, args = self._begin(clients, ref)
        # The SDK's signature wants a body even when resuming from a token; it is not sent.
        result, message = lro.poll(begin, *args, {}, token=state["lro"], what=f"polling {self.name} of {ref.id}")
        return OperationStatus(result, message or f"{self.name} {result.lower()}")

    def _begin(self, clients: Any, ref: ResourceId) -> tuple[Any, tuple]:
        raise NotImplementedError


@registry.register
class ResumeAutomaticRepairs(RepairsAction):
    """POST setOrchestrationServiceState {AutomaticRepairs, Resume}."""

    name = "resume-automatic-repairs"
    writes = {SCALE_SET: "Microsoft.Compute/virtualMachineScaleSets/setOrchestrationServiceState/action"}
    reads = (READ_SCALE_SET_INSTANCE_VIEW, READ_SCALE_SET_VMS, READ_SCALE_SET)
    defaults: ClassVar[dict[str, Any]] = {"max_unhealthy_share": 0.20}

    def _verify(self, clients: Any, ref: ResourceId, params: dict[str, Any]) -> Verdict:
        limit = self.share(params, "max_unhealthy_share")
        try:
            view = read_scale_set_view(clients, ref)
        except AzureCallError as exc:
            if exc.status != 400 or not read_scale_set(clients, ref).flexible:
                raise
            # Azure: a Flexible set has neither an instance view nor setOrchestrationServiceState.
            return Verdict(False, "a Flexible scale set has no orchestration service state to resume: Azure "
                           "offers setOrchestrationServiceState only in Uniform orchestration; a person checks "
                           "its repairs in the portal", {"orchestration_mode": "Flexible"})
        state = view.repairs_state or "NotRunning"
        facts: dict[str, Any] = {"repairs_state": state}
        if state == "Running":
            return Verdict(False, "serviceState no longer Suspended: automatic repairs are Running", facts)
        if state != "Suspended":
            return Verdict(False, f"automatic repairs are not enabled (serviceState {state}); "
                           "enable-automatic-repairs is the action for that", facts)
        unhealthy, total, share = unhealthy_facts(read_instances(clients, ref, with_health=True, flexible=False))
        facts.update(unhealthy=unhealthy, instances=total, unhealthy_share=round(share, 4))
        refusal = too_unhealthy(unhealthy, total, share, limit)
        if refusal:
            return Verdict(False, refusal, facts)
        return Verdict(True, f"automatic repairs Suspended; {unhealthy} of {total} instances unhealthy "
                       f"({share:.0%}, under {limit:.0%})", facts)

    def _start(self, clients: Any, ref: ResourceId, params: dict[str, Any]) -> dict[str, Any]:
        begin, args = self._begin(clients, ref)
        body = {"serviceName": AUTOMATIC_REPAIRS, "action": "Resume"}
        return {"step": "resume", "lro": lro.start(begin, *args, body, what=f"resuming repairs on {ref.id}")}

    def _observe(self, clients: Any, ref: ResourceId, state: dict[str, Any]) -> OperationStatus:
        repairs = read_scale_set_view(clients, ref).repairs_state
        if repairs == "Running":
            return OperationStatus("Succeeded", "automatic repairs are Running")
        return OperationStatus("InProgress", f"automatic repairs are {repairs}")

    def _recover(
        self, clients: Any, ref: ResourceId, params: dict[str, Any], since: datetime, intent: dict[str, Any]
    ) -> Recovery:
        view = read_scale_set_view(clients, ref)
        facts = {"repairs_state": view.repairs_state, "changed": _iso(view.repairs_changed)}
        if view.repairs_state == "Running":
            return Recovery("done", "automatic repairs are Running again", None, facts)
        return Recovery("not-started", f"automatic repairs are still {view.repairs_state}", None, facts)

    def _begin(self, clients: Any, ref: ResourceId) -> tuple[Any, tuple]:
        compute = clients.compute(ref.subscription)
        return compute.virtual_machine_scale_sets.begin_set_orchestration_service_state, (ref.resource_group, ref.scale_set_name)


@registry.register
class EnableAutomaticRepairs(RepairsAction):
    """PATCH the scale set's automaticRepairsPolicy: enabled, with a grace period."""

    name = "enable-automatic-repairs"
    writes = {SCALE_SET: "Microsoft.Compute/virtualMachineScaleSets/write"}
    reads = (READ_SCALE_SET, READ_SCALE_SET_VMS, READ_VMS)
    defaults: ClassVar[dict[str, Any]] = {"grace_period": "PT30M", "max_unhealthy_share": 0.20}

    def _verify(self, clients: Any, ref: ResourceId, params: dict[str, Any]) -> Verdict:
        grace_period(params["grace_period"])
        limit = self.share(params, "max_unhealthy_share")
        ss = read_scale_set(clients, ref)
        facts: dict[str, Any] = {
            "repairs_enabled": ss.repairs_enabled,
            "grace_period": ss.repairs_grace_period,
            "capacity": ss.capacity,
        }
        if ss.repairs_enabled:
            return Verdict(False, f"automatic repairs already enabled (grace period {ss.repairs_grace_period})", facts)
        if not ss.has_health_monitor:
            return Verdict(False, "no application health extension or load-balancer health probe: Azure cannot "
                           "enable automatic repairs without one; add one first", facts)
        unhealthy, total, share = unhealthy_facts(read_instances(clients, ref, with_health=True, flexible=ss.flexible))
        facts.update(unhealthy=unhealthy, instances=total, unhealthy_share=round(share, 4))
        refusal = too_unhealthy(unhealthy, total, share, limit)
        if refusal:
            return Verdict(False, refusal, facts)
        return Verdict(True, "automatic repairs are not enabled", facts)

    def _start(self, clients: Any, ref: ResourceId, params: dict[str, Any]) -> dict[str, Any]:
        period = grace_period(params["grace_period"])
        begin, args = self._begin(clients, ref)
        body = {"properties": {"automaticRepairsPolicy": {"enabled": True, "gracePeriod": period}}}
        return {"step": "enable", "lro": lro.start(begin, *args, body, what=f"enabling repairs on {ref.id}")}

    def _observe(self, clients: Any, ref: ResourceId, state: dict[str, Any]) -> OperationStatus:
        ss = read_scale_set(clients, ref)
        if ss.repairs_enabled:
            return OperationStatus("Succeeded", f"automatic repairs enabled (grace period {ss.repairs_grace_period})")
        if (ss.provisioning_state or "").lower() == "failed":
            return OperationStatus("Failed", "the scale set's provisioning state is Failed")
        return OperationStatus("InProgress", f"scale set {ss.provisioning_state}")

    def _recover(
        self, clients: Any, ref: ResourceId, params: dict[str, Any], since: datetime, intent: dict[str, Any]
    ) -> Recovery:
        ss = read_scale_set(clients, ref)
        facts = {"repairs_enabled": ss.repairs_enabled, "provisioning_state": ss.provisioning_state}
        if ss.repairs_enabled:
            return Recovery("done", "automatic repairs are enabled", None, facts)
        if provisioning_busy(ss.provisioning_state):
            return Recovery("in-progress", f"the scale set is {ss.provisioning_state}", self.observing(ref), facts)
        return Recovery("not-started", "automatic repairs are still not enabled", None, facts)

    def _begin(self, clients: Any, ref: ResourceId) -> tuple[Any, tuple]:
        compute = clients.compute(ref.subscription)
        return compute.virtual_machine_scale_sets.begin_update, (ref.resource_group, ref.scale_set_name)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None
