"""The brakes: what keeps an unattended tool from acting outside its scope, too often, or into
a storm the platform (not the machine) is causing.

Two stages. `admit` needs nothing but the signal: scope (subscriptions, resource groups) and
the pause switch. `brake` runs once the resource has been read (its tags, region, capacity),
before verification: the responder-mode tag, the storm breaker, the cooldown, the attempt cap,
the in-flight caps and the hourly write cap. Every refusal is a `skipped` decision whose brake
says which one and why, in a sentence a person reads.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Callable

from rules import Classification, Decision, Policy, Signal
from rules.brakes import effective_mode

from .settings import Settings

PAUSE_SWITCH = "paused"
UNHEALTHY_STATES = ("unavailable", "degraded")
UNHEALTHY_IMPACTS = ("degraded", "downtime-reboot", "downtime-freeze")
ACTING_MODES = ("approve", "auto")
STALE_AFTER = timedelta(hours=24)


def _parts(resource_id: str) -> list[str]:
    return resource_id.strip("/").split("/")


def resource_group_of(resource_id: str) -> str:
    parts = [p.lower() for p in _parts(resource_id)]
    return parts[parts.index("resourcegroups") + 1] if "resourcegroups" in parts[:-1] else ""


def scale_set_of(resource_id: str) -> str | None:
    """The scale set's id for one of its instances, else None."""
    parts = _parts(resource_id)
    lowered = [p.lower() for p in parts]
    if "virtualmachinescalesets" in lowered and lowered[-2:-1] == ["virtualmachines"]:
        return "/" + "/".join(parts[:-2])
    return None


class Safety:
    def __init__(self, settings: Settings, policy: Policy, ledger, clock: Callable[[], datetime]):
        self.settings = settings
        self.policy = policy
        self.brakes = policy.brakes
        self.ledger = ledger
        self.clock = clock

    # -- stage one: before anything is read --------------------------------------------------

    def admit(self, signal: Signal, decision: Decision) -> Decision:
        outside = self.out_of_scope(signal.resource_id)
        if outside:
            return decision.but(status="skipped", reason=f"out of scope: {outside}; nothing is read or written",
                                brakes=(*decision.brakes, f"scope: {outside}"))
        if decision.action != "none" and decision.mode in ACTING_MODES:
            paused = self.paused()
            if paused:
                return decision.but(status="skipped", reason=f"automation is paused ({paused}); nothing is written",
                                    brakes=(*decision.brakes, f"pause: {paused}"))
        return decision

    def out_of_scope(self, resource_id: str) -> str | None:
        parts = _parts(resource_id)
        subscription = parts[1].lower() if len(parts) > 1 and parts[0].lower() == "subscriptions" else ""
        if self.settings.subscriptions and subscription not in self.settings.subscriptions:
            return f"subscription {subscription or '?'} is not in RESPONDER_SUBSCRIPTIONS"
        group = resource_group_of(resource_id)
        if group and self.settings.resource_groups_include and group not in self.settings.resource_groups_include:
            return f"resource group {group} is not in RESPONDER_RESOURCE_GROUPS_INCLUDE"
        if group and group in self.settings.resource_groups_exclude:
            return f"resource group {group} is in RESPONDER_RESOURCE_GROUPS_EXCLUDE"
        return None

    def paused(self) -> str | None:
        if self.settings.paused:
            return "RESPONDER_PAUSED is true"
        switch = self.ledger.switch(PAUSE_SWITCH)
        if switch and switch["value"] == "true":
            return f"paused by {switch['set_by']} at {switch['set_at'][:16]}Z"
        return None

    def pause(self, by: str) -> None:
        self.ledger.set_switch(PAUSE_SWITCH, "true", by, self.clock())

    def resume(self, by: str) -> None:
        self.ledger.set_switch(PAUSE_SWITCH, "false", by, self.clock())

    # -- what the storm breaker counts --------------------------------------------------------

    def observe(self, signal: Signal, classification: Classification) -> None:
        """Mark a resource that turned unhealthy, in its storm scope."""
        if signal.resolved or not self._unhealthy(signal, classification):
            return
        now = self.clock()
        if now - signal.occurred > STALE_AFTER:
            return  # a replayed or long-delayed event says nothing about a storm now
        scale_set = scale_set_of(signal.resource_id)
        scope = f"ss:{scale_set.lower()}" if scale_set else f"vm:{signal.subscription_id.lower()}:"
        # Counted when it arrives: a storm is what is arriving now, whatever each event's clock says.
        self.ledger.mark_unhealthy(scope, signal.resource_key, now)

    @staticmethod
    def _unhealthy(signal: Signal, classification: Classification) -> bool:
        if signal.kind in ("availability", "resource-health"):
            return signal.name.lower() in UNHEALTHY_STATES
        if signal.kind == "annotation":
            return classification.initiator == "platform" and classification.impact in UNHEALTHY_IMPACTS
        return False

    # -- stage two: with the resource read ----------------------------------------------------

    def brake(self, resource_id: str, decision: Decision, info: Any) -> Decision:
        """`info` is actions.resource_info.ResourceInfo (tags, location, capacity)."""
        facts = {**decision.facts, "tags": dict(info.tags), "location": info.location}
        decision = decision.but(facts=facts)
        tag = next((v for k, v in info.tags.items() if k.lower() == self.policy.mode_tag.lower()), None)
        mode, why = effective_mode(decision.mode, tag, decision.tag_may_raise_to)
        if mode == "off":
            return self._skip(decision, "mode tag", why)
        if mode != decision.mode:
            status = {"observe": "planned", "approve": "awaiting-approval", "auto": "planned"}[mode]
            decision = decision.but(mode=mode, status=status, brakes=(*decision.brakes, f"mode tag: {why}"))
        if decision.mode not in ACTING_MODES:
            return decision
        for check in (self._storm, self._cooldown, self._attempts, self._in_flight, self._hourly_writes):
            refusal = check(resource_id, info)
            if refusal:
                return self._skip(decision, *refusal)
        return decision

    def _skip(self, decision: Decision, brake: str, why: str, facts: dict | None = None) -> Decision:
        return decision.but(status="skipped", reason=f"{brake}: {why}", brakes=(*decision.brakes, f"{brake}: {why}"),
                            facts={**decision.facts, **(facts or {})})

    def _storm(self, resource_id: str, info: Any):
        now, brakes = self.clock(), self.brakes
        since = now - brakes.storm_window
        minutes = int(brakes.storm_window.total_seconds() // 60)
        scale_set = scale_set_of(resource_id)
        if scale_set:
            scope = f"ss:{scale_set.lower()}"
            count, capacity = self.ledger.count_unhealthy(scope, since), max(1, info.capacity or 1)
            over = count > brakes.storm_scale_set_share * capacity
            what = (f"{count} of {capacity} instances of scale set {scale_set.rsplit('/', 1)[-1]} turned unhealthy within "
                    f"{minutes} min (more than {brakes.storm_scale_set_share:.0%}): the health probe or the application "
                    "is more likely wrong than the machines")
        else:
            subscription = _parts(resource_id)[1].lower()
            scope = f"vm:{subscription}:{info.location}"
            # VMs whose region was not known when they turned unhealthy count in every region.
            count = self.ledger.count_unhealthy(scope, since) + self.ledger.count_unhealthy(f"vm:{subscription}:", since)
            over = count > brakes.storm_vms_per_region
            what = (f"{count} VMs of subscription {subscription} in {info.location or 'this region'} turned unhealthy within "
                    f"{minutes} min (more than {brakes.storm_vms_per_region}): a platform incident is more likely than "
                    "a broken machine")
        storm = self.ledger.storm(scope)
        if over:
            tripped = self.ledger.open_storm(scope, now, what)
            return ("storm breaker", f"{what}; automation in this scope pauses until it stays under the threshold for "
                    f"{int(brakes.storm_cooldown.total_seconds() // 60)} min", *([{"storm_tripped": True}] if tripped else []))
        if storm is not None:
            calm_since = datetime.fromisoformat(storm["last_over_at"])
            if now - calm_since < brakes.storm_cooldown:
                resume = calm_since + brakes.storm_cooldown
                return ("storm breaker", f"holding since {storm['tripped_at'][:16]}Z ({storm['reason']}); resumes at {resume.isoformat()[:16]}Z if calm")
            self.ledger.close_storm(scope)
        return None

    def _cooldown(self, resource_id: str, info: Any):
        last = self.ledger.last_operation(resource_id.strip().rstrip("/").lower())
        if last is None:
            return None
        at = datetime.fromisoformat(last["created_at"])
        if self.clock() - at < self.brakes.cooldown:
            after = (at + self.brakes.cooldown).isoformat()[:16]
            return ("cooldown", f"{last['action']} of this resource at {last['created_at'][:16]}Z; the next remediation may start after {after}Z")
        return None

    def _attempts(self, resource_id: str, info: Any):
        made = self.ledger.count_operations(resource_id.strip().rstrip("/"), self.clock() - self.brakes.attempts_within)
        if made >= self.brakes.attempts:
            hours = int(self.brakes.attempts_within.total_seconds() // 3600)
            return ("attempt cap", f"{made} remediations of this resource in {hours} h already; a person should look at it")
        return None

    def _in_flight(self, resource_id: str, info: Any):
        from ledger.safety_sqlite import UNDER_WAY

        subscription = "/subscriptions/" + _parts(resource_id)[1]
        running = self.ledger.count_operations(subscription + "/", states=UNDER_WAY)
        if running >= self.brakes.in_flight_per_subscription:
            return ("in-flight cap", f"{running} operations already under way in subscription {_parts(resource_id)[1]} "
                    f"(cap {self.brakes.in_flight_per_subscription}); the next signal or sweep tries again")
        scale_set = scale_set_of(resource_id)
        if scale_set and info.capacity:
            cap = self.brakes.in_flight_for_scale_set(info.capacity)
            under_way = self.ledger.count_operations(scale_set + "/virtualMachines/", states=UNDER_WAY)
            if under_way >= cap:
                return ("in-flight cap", f"{under_way} instances of scale set {scale_set.rsplit('/', 1)[-1]} already being "
                        f"remediated (cap {cap}: 5% of {info.capacity}, at least 1)")
        return None

    def _hourly_writes(self, resource_id: str, info: Any):
        subscription = "/subscriptions/" + _parts(resource_id)[1]
        made = self.ledger.count_operations(subscription + "/", self.clock() - timedelta(hours=1))
        if made >= self.brakes.hourly_writes_per_subscription:
            return ("hourly write cap", f"{made} ARM writes in subscription {_parts(resource_id)[1]} in the last hour "
                    f"(cap {self.brakes.hourly_writes_per_subscription})")
        return None
