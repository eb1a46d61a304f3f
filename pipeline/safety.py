"""The brakes: what keeps an unattended tool from acting outside its scope, too often, or into
a storm the platform (not the machine) is causing.

Two stages. `admit` needs nothing but the signal: scope (subscriptions, resource groups) and
the pause switch. `brake` runs once the resource has been read (its tags, region, capacity),
before verification: the responder-mode tag, the storm breaker, the cooldown and the attempt
cap. `reserve` runs just before the write: the in-flight caps and the hourly write cap, as slots
claimed by conditional writes, so many workers at once still keep them. Every refusal is a
`skipped` decision whose brake says which one and why, in a sentence a person reads.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Callable

from rules import Classification, Decision, Policy, Signal
from rules.signals import resource_group_of, scale_set_of, subscription_of
from rules.brakes import effective_mode

from .settings import Settings

PAUSE_SWITCH = "paused"
UNHEALTHY_STATES = ("unavailable", "degraded")
UNHEALTHY_IMPACTS = ("degraded", "downtime-reboot", "downtime-freeze")
ACTING_MODES = ("approve", "auto")
STALE_AFTER = timedelta(hours=24)
# An in-flight slot outlives a worker that died before recording its operation this long at most.
IN_FLIGHT_TTL = timedelta(hours=1)


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
        subscription = subscription_of(resource_id)
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
        facts = {**decision.facts, "tags": dict(info.tags), "location": info.location, "capacity": info.capacity}
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
        for check in (self._storm, self._cooldown, self._attempts):
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
            subscription = subscription_of(resource_id)
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

    # -- the caps: slots claimed just before the write, race-free across workers --------------

    def reserve(self, resource_id: str, holder: str, capacity: int | None) -> str | None:
        """Claim the slots a write needs (in flight in the subscription and, for an instance, in
        its scale set; this clock hour's writes in the subscription). A refusal says which cap.
        `holder` (incident and action) claiming again is the same claim, so a retried start of
        one operation takes no second slot."""
        now, brakes = self.clock(), self.brakes
        subscription = subscription_of(resource_id)
        wanted = [(f"in-flight:/subscriptions/{subscription}", brakes.in_flight_per_subscription, IN_FLIGHT_TTL,
                   f"in-flight cap: {brakes.in_flight_per_subscription} operations already under way in subscription "
                   f"{subscription} (cap {brakes.in_flight_per_subscription}); the next signal or sweep tries again")]
        scale_set = scale_set_of(resource_id)
        if scale_set and capacity:
            cap = brakes.in_flight_for_scale_set(capacity)
            wanted.append((f"in-flight:{scale_set.lower()}", cap, IN_FLIGHT_TTL,
                           f"in-flight cap: {cap} instances of scale set {scale_set.rsplit('/', 1)[-1]} already being "
                           f"remediated (cap {cap}: 5% of {capacity}, at least 1)"))
        wanted.append((f"writes:/subscriptions/{subscription}:{now:%Y-%m-%dT%H}", brakes.hourly_writes_per_subscription,
                       timedelta(hours=2), f"hourly write cap: {brakes.hourly_writes_per_subscription} ARM writes in "
                       f"subscription {subscription} this hour (cap {brakes.hourly_writes_per_subscription})"))
        taken: list[str] = []
        for scope, cap, ttl, refusal in wanted:
            if not self.ledger.claim_slot(scope, cap, holder, now, ttl):
                for claimed in taken:
                    if claimed.startswith("in-flight:"):
                        self.ledger.release_slot(claimed, holder)
                return refusal
            taken.append(scope)
        return None

    def release(self, resource_id: str, holder: str) -> None:
        """The operation ended: its in-flight slots are free (its hourly write stays counted)."""
        subscription = subscription_of(resource_id)
        self.ledger.release_slot(f"in-flight:/subscriptions/{subscription}", holder)
        scale_set = scale_set_of(resource_id)
        if scale_set:
            self.ledger.release_slot(f"in-flight:{scale_set.lower()}", holder)
