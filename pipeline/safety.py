"""The brakes and switches behind the gate (pipeline/gate.py): what keeps an unattended tool
from acting outside its scope, too often, or into a storm the platform (not the machine) is
causing.

The gate asks, in its order: `paused` and `out_of_scope` (nothing read); `ledger_brakes` (the
ledger alone: a storm breaker already open for the resource's scope, or tripped by marks that
count in every region; the cooldown; the attempt cap; an hourly write cap seen full), so a
signal that can no longer lead to an action costs no ARM read; `resource_brakes` once the
resource has been read (region and capacity now known); and `reserve` just before the write:
the in-flight caps and the hourly write cap, as slots claimed by conditional writes, so many
workers at once still keep them. One decision's two passes share their reads (`DecisionReads`):
the second reads only what the resource read brings in. Every refusal says which brake and why,
in a sentence a person reads. `observe` marks what the storm breaker counts: unhealthy states the platform
caused, never the owner's own deallocations, stops or Spot evictions.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # types only: actions/ is a lower floor
    from actions.resource_info import ResourceInfo

from arm import ResourceId, resource_key, short_name
from rules import Classification, Policy, Signal
from rules.ports import SafetyStore

from .settings import Settings

# A brake's refusal: (brake, why), or (brake, why, facts) when it carries facts for the decision
# (the storm breaker says it tripped now). None: the brake lets it through.
Refusal = tuple[Any, ...]
# What the brakes counted to answer (cooldown's last operation, attempts, storm counts, slots):
# filled in when the caller passes one, recorded with the decision so it can be re-decided.
Seen = dict[str, Any]

PAUSE_SWITCH = "paused"
UNHEALTHY_STATES = ("unavailable", "degraded")
UNHEALTHY_IMPACTS = ("degraded", "downtime-reboot", "downtime-freeze")
ACTING_MODES = ("approve", "auto")
STALE_AFTER = timedelta(hours=24)
# How far apart an owner's annotation and the Unavailable it explains may arrive.
OWNER_PAIRING = timedelta(minutes=30)
# Catalog categories of annotations that say the owner's side made the machine unavailable.
OWNER_CATEGORIES = ("customer-initiated", "spot-eviction")
# An in-flight slot outlives a worker that died before recording its operation this long at most.
IN_FLIGHT_TTL = timedelta(hours=1)


Resource = ResourceId | str  # an id the gate parsed once, or the text of one


def parsed(resource: Resource) -> ResourceId | None:
    """The id's parts; None for a text that is no ARM id (it is refused by its scope, or by the
    executor that cannot act on it, with the reason said there)."""
    return resource if isinstance(resource, ResourceId) else ResourceId.try_parse(resource)


def subscription_of(resource: Resource) -> str:
    """The subscription (lower case), or "" for a text that names none."""
    rid = parsed(resource)
    return rid.subscription.lower() if rid is not None else ""


def member_of(resource: Resource, scale_set_id: str | None) -> str | None:
    """The scale set a machine counts in: a Uniform instance's (from its id), or a Flexible
    set's VM's (its model names the set: ResourceInfo.scale_set_id). A scale set itself is no
    member: its own actions count in the subscription."""
    rid = parsed(resource)
    if rid is not None and rid.is_instance and rid.scale_set is not None:
        return rid.scale_set.text
    if scale_set_id and (rid is None or rid.scale_set_name is None):
        return scale_set_id
    return None


class DecisionReads:
    """What one decision has read for its brakes: the pause switch and the ledger's rows, each
    read once, however often the gate asks.

    The gate asks the brakes twice for one write: before the ARM read (what the ledger alone
    answers) and once the resource is read (its region, its capacity, a Flexible VM's scale set).
    A row read again within the same decision, moments later, adds no safety: what keeps many
    workers within the limits is conditional writes (the incident's one held action, the
    in-flight and hourly slots claimed just before the write), not a second look. So the second
    pass reads only what the resource read brings in (a region's marks and breaker, a scale set's
    share); the cooldown, the attempt cap, the subscription's marks and the pause are answered
    as the first pass of the same clearance read them. Opening or closing a breaker forgets its row."""

    def __init__(self, safety: Safety) -> None:
        self.safety = safety
        self.ledger = safety.ledger
        self._rows: dict[tuple[str, str], Any] = {}

    def _once(self, kind: str, key: str, read: Callable[[], Any]) -> Any:
        if (kind, key) not in self._rows:
            self._rows[kind, key] = read()
        return self._rows[kind, key]

    def paused(self) -> str | None:
        answer: str | None = self._once("pause", "", self.safety.paused)
        return answer

    def count_unhealthy(self, scope: str, since: datetime) -> int:
        count: int = self._once("unhealthy", scope, lambda: self.ledger.count_unhealthy(scope, since))
        return count

    def storm(self, scope: str) -> Mapping[str, Any] | None:
        row: Mapping[str, Any] | None = self._once("storm", scope, lambda: self.ledger.storm(scope))
        return row

    def open_storm(self, scope: str, at: datetime, reason: str) -> bool:
        self._rows.pop(("storm", scope), None)
        return self.ledger.open_storm(scope, at, reason)

    def close_storm(self, scope: str) -> bool:
        self._rows["storm", scope] = None  # closed: known to be gone, nothing to read again
        return self.ledger.close_storm(scope)

    def last_operation(self, resource: str) -> Mapping[str, Any] | None:
        row: Mapping[str, Any] | None = self._once("last operation", resource, lambda: self.ledger.last_operation(resource))
        return row

    def count_operations(self, resource: str, since: datetime) -> int:
        count: int = self._once("operations", resource, lambda: self.ledger.count_operations(resource, since))
        return count


class Safety:
    def __init__(self, settings: Settings, policy: Policy, ledger: SafetyStore, clock: Callable[[], datetime]) -> None:
        self.settings = settings
        self.policy = policy
        self.brakes = policy.brakes
        self.ledger = ledger
        self.clock = clock
        self._full_hours: dict[str, str] = {}  # hourly write cap scope -> its refusal, once seen full

    # -- nothing read: scope and the pause switch ---------------------------------------------

    def out_of_scope(self, resource_id: Resource) -> str | None:
        """Why the resource is outside the scope, or None. ARM ids are case-insensitive, and so
        is every comparison here, whatever case the settings were written in."""
        settings = self.settings
        subscription = subscription_of(resource_id)
        if settings.subscriptions and subscription not in {s.strip().lower() for s in settings.subscriptions}:
            return f"subscription {subscription or '?'} is not in RESPONDER_SUBSCRIPTIONS"
        rid = parsed(resource_id)
        group = (rid.resource_group or "").lower() if rid is not None else ""
        include = {g.strip().lower() for g in settings.resource_groups_include}
        if group and include and group not in include:
            return f"resource group {group} is not in RESPONDER_RESOURCE_GROUPS_INCLUDE"
        if group and group in {g.strip().lower() for g in settings.resource_groups_exclude}:
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
        """Mark a resource that turned unhealthy, in its storm scope; but not what its owner did.

        An AvailabilityStatusChanged event says nothing of who caused it. The annotation that
        pairs with it does (VirtualMachineDeallocationInitiated, ...StopInitiated, a Spot
        eviction), arriving just before or just after: an owner's annotation is remembered for
        the resource, an Unavailable that follows it is not counted, and one counted just before
        it is taken back."""
        now = self.clock()
        if now - signal.occurred > STALE_AFTER:
            return  # a replayed or long-delayed event says nothing about a storm now
        scope = self._storm_scope(signal.resource_id)
        if scope is None:
            return  # no machine: a subscription, a group, a scale set itself counts in no storm
        owners = f"owner:{signal.resource_key}"
        if self._owner_caused(signal, classification):
            self.ledger.mark_unhealthy(owners, signal.resource_key, now)
            self.ledger.unmark_unhealthy(scope, signal.resource_key, now - OWNER_PAIRING)
            return
        if signal.resolved or not self._unhealthy(signal, classification):
            return
        if self.ledger.marked(owners, signal.resource_key, now - OWNER_PAIRING):
            return  # its owner stopped or deallocated it (or Azure evicted a Spot VM it owns)
        # Counted when it arrives: a storm is what is arriving now, whatever each event's clock says.
        self.ledger.mark_unhealthy(scope, signal.resource_key, now)

    @staticmethod
    def _storm_scope(resource_id: str) -> str | None:
        """Where a machine's mark counts: a Uniform instance in its scale set, a VM (a Flexible
        set's too: its id names no set) in its subscription (its region is not known here). The
        breaker counts machines, so anything else counts nowhere."""
        rid = parsed(resource_id)
        if rid is not None and rid.is_instance and rid.scale_set is not None:
            return f"ss:{rid.scale_set.key}"
        if rid is not None and rid.is_vm:
            return f"vm:{rid.subscription.lower()}:"
        return None

    @staticmethod
    def _owner_caused(signal: Signal, classification: Classification) -> bool:
        """An annotation or alert that says the owner (or the owner's Spot bargain) made it unhealthy."""
        if signal.kind not in ("annotation", "resource-health") or signal.resolved:
            return False
        return classification.initiator in ("customer", "vm") or classification.category in OWNER_CATEGORIES

    @staticmethod
    def _unhealthy(signal: Signal, classification: Classification) -> bool:
        if signal.kind in ("availability", "resource-health"):
            return signal.name.lower() in UNHEALTHY_STATES
        if signal.kind == "annotation":
            return classification.initiator == "platform" and classification.impact in UNHEALTHY_IMPACTS
        return False

    # -- the brakes ----------------------------------------------------------------------------

    def reads(self) -> DecisionReads:
        """A fresh record of one decision's reads (the gate keeps one per write it judges)."""
        return DecisionReads(self)

    def ledger_brakes(self, resource_id: Resource, seen: Seen | None = None,
                      reads: DecisionReads | None = None) -> Refusal | None:
        """The brakes the ledger alone answers, before the resource is read: (brake, why[, facts])
        or None. Without the region or capacity, a storm refuses only when its breaker already
        holds, or when marks that count in every region are enough. `reads`: the decision's
        reads, shared with `resource_brakes` (a fresh one when none is given)."""
        seen = {} if seen is None else seen
        reads = self.reads() if reads is None else reads
        for check in (self._storm, self._cooldown, self._attempts, self._hour_full):
            refusal = check(resource_id, None, seen, reads)
            if refusal:
                return refusal
        return None

    def resource_brakes(self, resource_id: Resource, info: ResourceInfo, seen: Seen | None = None,
                        reads: DecisionReads | None = None) -> Refusal | None:
        """Every brake again, with the resource read (`info`: actions.resource_info.ResourceInfo).
        With the `reads` of the same decision's `ledger_brakes`, what they read is not read again."""
        seen = {} if seen is None else seen
        reads = self.reads() if reads is None else reads
        for check in (self._storm, self._cooldown, self._attempts):
            refusal = check(resource_id, info, seen, reads)
            if refusal:
                return refusal
        return None

    def occurrences(self, resource_id: Resource, name: str, since: datetime, until: datetime) -> int:
        """Distinct occurrences of `name` on the resource between two times (repeat rules' evidence)."""
        return self.ledger.count_occurrences(resource_key(resource_id), name, since, until)

    # -- the storm breaker ----------------------------------------------------------------------

    def _storm(self, resource_id: Resource, info: ResourceInfo | None, seen: Seen, reads: DecisionReads) -> Refusal | None:
        """`info` None: before the read, so without the VM's region or the scale set's capacity
        (nor, for a VM of a Flexible scale set, its set)."""
        scale_set = member_of(resource_id, None if info is None else info.scale_set_id)
        if scale_set:
            return self._scale_set_storm(scale_set, None if info is None else max(1, info.capacity or 1), seen, reads)
        subscription = subscription_of(resource_id)
        # Marks whose region was not known count in every region: on their own they decide for
        # the whole subscription, which needs no read. The VM's own region needs its location.
        refusal = self._vm_storm(subscription, "", seen, reads)
        if refusal is None and info is not None and info.location:
            refusal = self._vm_storm(subscription, info.location, seen, reads)
        return refusal

    def _scale_set_storm(self, scale_set: str, capacity: int | None, seen: Seen, reads: DecisionReads) -> Refusal | None:
        brakes, scope = self.brakes, f"ss:{scale_set.lower()}"
        if capacity is None:  # the share needs the capacity: only a breaker already holding refuses
            return self._holding(scope, seen, reads, close=False)
        count = reads.count_unhealthy(scope, self.clock() - brakes.storm_window)
        seen["storm"] = {"scope": scope, "count": count, "capacity": capacity}
        what = (f"{count} of {capacity} instances of scale set {short_name(scale_set)} turned unhealthy within "
                f"{self._minutes(brakes.storm_window)} min (more than {brakes.storm_scale_set_share:.0%}): the health "
                "probe or the application is more likely wrong than the machines")
        if count > brakes.storm_scale_set_share * capacity:
            return self._trip(scope, what, seen, reads)
        return self._holding(scope, seen, reads)

    def _vm_storm(self, subscription: str, region: str, seen: Seen, reads: DecisionReads) -> Refusal | None:
        brakes, since = self.brakes, self.clock() - self.brakes.storm_window
        anywhere = f"vm:{subscription}:"
        scope = f"vm:{subscription}:{region}"
        count = reads.count_unhealthy(anywhere, since)
        if region:
            count += reads.count_unhealthy(scope, since)
        seen["storm"] = {"scope": scope, "count": count}
        what = (f"{count} VMs of subscription {subscription} in {region or 'any of its regions'} turned unhealthy within "
                f"{self._minutes(brakes.storm_window)} min (more than {brakes.storm_vms_per_region}): a platform "
                "incident is more likely than a broken machine")
        return self._trip(scope, what, seen, reads) if count > brakes.storm_vms_per_region else self._holding(scope, seen, reads)

    def _trip(self, scope: str, what: str, seen: Seen, reads: DecisionReads) -> Refusal:
        tripped = reads.open_storm(scope, self.clock(), what)
        seen["storm_tripped"] = tripped
        return ("storm breaker", f"{what}; automation in this scope pauses until it stays under the threshold for "
                f"{self._minutes(self.brakes.storm_cooldown)} min", *([{"storm_tripped": True}] if tripped else []))

    def _holding(self, scope: str, seen: Seen, reads: DecisionReads, close: bool = True) -> Refusal | None:
        """An open breaker holds until its scope stayed under the threshold for the cooldown.
        Only a caller that counted (and found the scope under it) may close it."""
        storm = reads.storm(scope)
        if storm is None:
            return None
        calm_since = datetime.fromisoformat(storm["last_over_at"])
        seen["storm_holding"] = {"scope": scope, "tripped_at": storm["tripped_at"], "last_over_at": storm["last_over_at"]}
        if self.clock() - calm_since < self.brakes.storm_cooldown:
            resume = calm_since + self.brakes.storm_cooldown
            return ("storm breaker", f"holding since {storm['tripped_at'][:16]}Z ({storm['reason']}); resumes at {resume.isoformat()[:16]}Z if calm")
        if close:
            reads.close_storm(scope)
        return None

    @staticmethod
    def _minutes(span: timedelta) -> int:
        return int(span.total_seconds() // 60)

    # -- per resource ---------------------------------------------------------------------------

    def _cooldown(self, resource_id: Resource, info: ResourceInfo | None, seen: Seen, reads: DecisionReads) -> Refusal | None:
        last = reads.last_operation(resource_key(resource_id))
        seen["last_operation_at"] = last["created_at"] if last is not None else None
        if last is None:
            return None
        at = datetime.fromisoformat(last["created_at"])
        if self.clock() - at < self.brakes.cooldown:
            after = (at + self.brakes.cooldown).isoformat()[:16]
            return ("cooldown", f"{last['action']} of this resource at {last['created_at'][:16]}Z; the next remediation may start after {after}Z")
        return None

    def _attempts(self, resource_id: Resource, info: ResourceInfo | None, seen: Seen, reads: DecisionReads) -> Refusal | None:
        made = reads.count_operations(resource_key(resource_id), self.clock() - self.brakes.attempts_within)
        seen["attempts"] = made
        if made >= self.brakes.attempts:
            hours = int(self.brakes.attempts_within.total_seconds() // 3600)
            return ("attempt cap", f"{made} remediations of this resource in {hours} h already; a person should look at it")
        return None

    def _hour_full(self, resource_id: Resource, info: ResourceInfo | None, seen: Seen, reads: DecisionReads) -> Refusal | None:
        """The hourly write cap of the resource's subscription, when this worker already saw it
        full this hour. Its slots are never given back within the hour (a write made stays
        counted), so once full it stays full until the hour turns, whatever other workers do."""
        scope = self._hourly_scope(subscription_of(resource_id))
        refusal = self._full_hours.get(scope)
        if refusal is None:
            return None
        seen["hour_full"] = scope
        brake, why = refusal.split(": ", 1)
        return brake, why

    def _hourly_scope(self, subscription: str) -> str:
        return f"writes:/subscriptions/{subscription}:{self.clock():%Y-%m-%dT%H}"

    # -- the caps: slots claimed just before the write, race-free across workers --------------

    def reserve(self, resource_id: Resource, holder: str, capacity: int | None, scale_set: str | None = None,
                seen: Seen | None = None) -> str | None:
        """Claim the slots a write needs (in flight in the subscription and, for an instance, in
        its scale set; this clock hour's writes in the subscription). A refusal says which cap.
        `holder` (incident and action) claiming again is the same claim, so a retried start of
        one operation takes no second slot."""
        now, brakes = self.clock(), self.brakes
        subscription = subscription_of(resource_id)
        wanted = [(f"in-flight:/subscriptions/{subscription}", brakes.in_flight_per_subscription, IN_FLIGHT_TTL,
                   f"in-flight cap: {brakes.in_flight_per_subscription} operations already under way in subscription "
                   f"{subscription} (cap {brakes.in_flight_per_subscription}); the next signal or sweep tries again")]
        scale_set = member_of(resource_id, scale_set)
        if scale_set and capacity:
            cap = brakes.in_flight_for_scale_set(capacity)
            wanted.append((f"in-flight:{scale_set.lower()}", cap, IN_FLIGHT_TTL,
                           f"in-flight cap: {cap} instances of scale set {short_name(scale_set)} already being "
                           f"remediated (cap {cap}: {brakes.in_flight_scale_set_share:.0%} of {capacity}, at least 1)"))
        wanted.append((self._hourly_scope(subscription), brakes.hourly_writes_per_subscription,
                       timedelta(hours=2), f"hourly write cap: {brakes.hourly_writes_per_subscription} ARM writes in "
                       f"subscription {subscription} this hour (cap {brakes.hourly_writes_per_subscription})"))
        taken: list[str] = []
        slots: dict[str, Any] = {} if seen is None else seen.setdefault("slots", {})
        for scope, cap, ttl, refusal in wanted:
            got = self.ledger.claim_slot(scope, cap, holder, now, ttl)
            slots[scope] = {"cap": cap, "claimed": got}
            if not got:
                if scope.startswith("writes:"):
                    self._saw_hour_full(scope, refusal)
                for claimed in taken:
                    if claimed.startswith("in-flight:"):
                        self.ledger.release_slot(claimed, holder)
                return refusal
            taken.append(scope)
        return None

    def _saw_hour_full(self, scope: str, refusal: str) -> None:
        hour = scope.rsplit(":", 1)[-1]
        # Past hours' entries can never match again: keep this hour's only (one per subscription).
        kept = {seen: why for seen, why in self._full_hours.items() if seen.endswith(hour)}
        self._full_hours = {**kept, scope: refusal}

    def release(self, resource_id: Resource, holder: str, scale_set: str | None = None) -> None:
        """The operation ended: its in-flight slots are free (its hourly write stays counted)."""
        subscription = subscription_of(resource_id)
        self.ledger.release_slot(f"in-flight:/subscriptions/{subscription}", holder)
        scale_set = member_of(resource_id, scale_set)
        if scale_set:
            self.ledger.release_slot(f"in-flight:{scale_set.lower()}", holder)
