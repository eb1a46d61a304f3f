"""The gate: the one place that lets an ARM write happen, on every road that leads to one.

    fresh signal / sweep finding ─┐
    approval (link, command line) ┤
    tick: deferred, recovered ────┼─> Gate.clear(request) ─┬─> skipped, with one reason
    wave turn ────────────────────┤                        ├─> planned (observe: would act) / awaiting-approval
    capacity restore ─────────────┘                        └─> act, with a Permit ─> executor.start / proceed

At the moment of the write it checks, in this order: pause; scope; the event's age; the
brakes the ledger alone can answer (so a refused signal costs no ARM read); then, with the
resource read, who manages it (a platform's resources are left alone); the mode in force (a
tag may lower it, raise it only as far as the rule allows and never above RESPONDER_MODE, and
nothing raises it while paused; a value it does not understand means off); the temporary disk
(an action that loses it needs a person); the brakes; and the signal's own claim, verified
against the live state just read. Only then does it issue the permit without which an
executor refuses to write (actions/permits.py).

The brakes are asked before the read and again with it, but one clearance reads each of their
ledger rows once (pipeline/safety.py `DecisionReads`): what keeps many workers within the limits
is the conditional writes at the write (the incident's held action, the caps' slots), not a
second look a moment later. The pause switch is the exception: `admit` reads it for a fresh
signal and `clear` reads it again, so a pause set while the incident's action was held stops
the write.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # types only: actions/ is a lower floor; safety and batch_reads are siblings
    from actions.registry import Registry
    from actions.resource_info import ResourceInfo

    from .batch_reads import BatchReads
    from .safety import DecisionReads, Safety

from arm import ResourceId
from rules.brakes import effective_mode
from rules.durations import parse_duration
from rules.evidence import DEFAULT_MAX_EVENT_AGE, default_evidence, judge
from rules.vocabulary import MODES

ACTING_MODES = ("approve", "auto")
# The roads to a write. Each is checked in full, except where the write is the same one the
# gate already let through: a recovered intent or a second step counts no new remediation.
SIGNAL, APPROVAL, DEFERRED, RECOVERED, WAVE, CONTINUATION = (
    "signal", "approval", "deferred", "recovered", "wave", "continuation")
ROADS = (SIGNAL, APPROVAL, DEFERRED, RECOVERED, WAVE, CONTINUATION)
_SAME_WRITE = (RECOVERED, CONTINUATION)
# Actions that lose the temporary disk (Azure: redeploy moves the VM to another host; reimage
# rebuilds it from the image).
LOSES_TEMP_DISK = ("redeploy", "reimage")
TEMP_DISK_WARNING = "temporary-disk data is lost"
GATE_KEY = "_gate"  # where a request's own facts are kept in the params stored with it


@dataclass(frozen=True)
class Claim:
    """What the signal behind a write said: the evidence is looked for against this."""

    kind: str = ""
    name: str = ""
    category: str = ""
    occurred: datetime | None = None
    received: datetime | None = None
    source: str = ""
    repeat: Mapping[str, Any] | None = None  # the rule's `when.repeat`, for a repeat rule

    @property
    def annotation(self) -> str:
        return self.name if self.kind == "annotation" else ""

    @property
    def age(self) -> timedelta | None:
        """How old the event was when it arrived (a sweep's finding is the state now: no age)."""
        if self.occurred is None or self.received is None or self.source == "sweep":
            return None
        return self.received - self.occurred


@dataclass(frozen=True)
class WriteRequest:
    """One write some road wants to make, with what the gate needs to judge it."""

    road: str
    action: str
    resource_id: str
    incident_id: str
    signal_id: int | None
    mode: str  # the mode decided (RESPONDER_MODE applied), before any tag
    rule: str = ""
    tag_may_raise_to: str | None = None
    evidence: tuple[str, ...] = ()
    max_event_age: timedelta = DEFAULT_MAX_EVENT_AGE
    claim: Claim = field(default_factory=Claim)
    params: Mapping[str, Any] = field(default_factory=dict)
    approved_by: str | None = None  # a person approved this write (approval road, or earlier)
    brakes: tuple[str, ...] = ()
    facts: Mapping[str, Any] = field(default_factory=dict)
    # The id parsed, once per trip to a write: the gate, the brakes, the reads and the executor
    # all take it as it is (None only for a text that is no ARM id, refused on the way).
    resource: ResourceId | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.resource is None:
            object.__setattr__(self, "resource", ResourceId.try_parse(self.resource_id))

    @property
    def target(self) -> ResourceId | str:
        """What the gate hands on: the parsed id, or the text when it is no ARM id."""
        return self.resource if self.resource is not None else self.resource_id

    @property
    def subscription(self) -> str:
        """The subscription whose clients make the reads and the write (lower case; "" for none)."""
        return self.resource.subscription.lower() if self.resource is not None else ""

    @property
    def holder(self) -> str:
        return f"{self.incident_id}:{self.action}"

    def on(self, road: str, **changes: Any) -> WriteRequest:
        return replace(self, road=road, **changes)

    # -- kept with an operation, an approval or a wave member, for the roads that come later --

    def stored_params(self) -> dict[str, Any]:
        """The action's parameters with the request's own facts under GATE_KEY (JSON)."""
        params = {k: v for k, v in self.params.items() if k not in ("now", GATE_KEY)}
        params[GATE_KEY] = {
            "mode": self.mode, "rule": self.rule, "tag_may_raise_to": self.tag_may_raise_to,
            "evidence": list(self.evidence), "max_event_age": int(self.max_event_age.total_seconds()),
            "approved_by": self.approved_by,
            "claim": {"kind": self.claim.kind, "name": self.claim.name, "category": self.claim.category,
                      "source": self.claim.source, "repeat": dict(self.claim.repeat) if self.claim.repeat else None,
                      "occurred": self.claim.occurred.isoformat() if self.claim.occurred else None,
                      "received": self.claim.received.isoformat() if self.claim.received else None},
        }
        return params

    @classmethod
    def from_stored(cls, road: str, *, action: str, resource_id: str, incident_id: str, signal_id: int | None,
                    mode: str, params: Mapping[str, Any], approved_by: str | None = None,
                    facts: Mapping[str, Any] | None = None) -> WriteRequest:
        """A request rebuilt from what was stored. A record made before requests were stored
        (no GATE_KEY) is judged by its action's default evidence, with no tag allowed to raise it."""
        kept = dict(params.get(GATE_KEY) or {})
        claim = dict(kept.get("claim") or {})
        action_params = {k: v for k, v in params.items() if k != GATE_KEY}
        return cls(
            road=road, action=action, resource_id=resource_id, incident_id=incident_id, signal_id=signal_id,
            mode=kept.get("mode") or mode, rule=kept.get("rule") or "",
            tag_may_raise_to=kept.get("tag_may_raise_to"),
            evidence=tuple(kept.get("evidence") or ()) or default_evidence(action, claim.get("kind", ""),
                                                                          claim.get("category", "")),
            max_event_age=timedelta(seconds=kept["max_event_age"]) if kept.get("max_event_age") else DEFAULT_MAX_EVENT_AGE,
            claim=Claim(kind=claim.get("kind") or "", name=claim.get("name") or "", category=claim.get("category") or "",
                        source=claim.get("source") or "", repeat=claim.get("repeat"),
                        occurred=_time(claim.get("occurred")), received=_time(claim.get("received"))),
            params=action_params, approved_by=approved_by or kept.get("approved_by"), facts=dict(facts or {}),
        )


def request_for(signal: Any, decision: Any, incident_id: str, signal_id: int | None, received: datetime,
                category: str = "") -> WriteRequest:
    """The write a fresh signal's decision asks for (rules.Signal, rules.Decision)."""
    return WriteRequest(
        road=SIGNAL, action=decision.action, resource_id=signal.resource_id, incident_id=incident_id,
        signal_id=signal_id, mode=decision.mode, rule=decision.rule, tag_may_raise_to=decision.tag_may_raise_to,
        evidence=tuple(decision.evidence) or default_evidence(decision.action, signal.kind, category),
        max_event_age=decision.max_event_age,
        claim=Claim(kind=signal.kind, name=signal.name, category=category, occurred=signal.occurred,
                    received=received, source=signal.source, repeat=decision.repeat),
        params=dict(decision.params), brakes=tuple(decision.brakes), facts=dict(decision.facts),
    )


def platform_owner_of(policy: Any) -> Callable[[Any, ResourceId | str], str | None]:
    """Who manages a resource read, by the built-in platform markers and the policy's
    `leave_alone` section (rules/ownership.py)."""
    from rules.ownership import platform_owner

    leave_alone = policy.leave_alone

    def owner_of(info: Any, resource_id: ResourceId | str) -> str | None:
        return platform_owner(info.owner_facts(resource_id), leave_alone)

    return owner_of


def recorded_info(info: Any) -> dict[str, Any]:
    """What was read of a resource (actions.resource_info.ResourceInfo), as JSON keeps it: enough
    to rebuild it (responder/whatif re-decides with it, no Azure call)."""
    return {"tags": dict(info.tags), "location": info.location, "capacity": info.capacity,
            "scale_set_id": info.scale_set_id, "managed_by": info.managed_by, "group_managed_by": info.group_managed_by,
            "group_tags": dict(info.group_tags), "priority": info.priority, "eviction_policy": info.eviction_policy,
            "extensions": [{"publisher": e.publisher, "type": e.type} for e in info.extensions]}


def _time(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) and value else None


@dataclass(frozen=True)
class Clearance:
    """The gate's answer: act (with `permit`), planned (observe: it would act now),
    awaiting-approval, or skipped; `reason` says why, `brakes` what applied."""

    status: str
    reason: str
    mode: str
    brakes: tuple[str, ...] = ()
    facts: Mapping[str, Any] = field(default_factory=dict)
    permit: Any = None  # actions.permits.Permit when status is "act"
    # What the gate read and counted to answer (Decision.reading): kept with the decision.
    # Not part of the answer: two clearances that decide alike are equal whatever was read.
    reading: Mapping[str, Any] = field(default_factory=dict, compare=False)

    @property
    def acts(self) -> bool:
        return self.status == "act"


class Gate:
    """Every write's one check. `safety` (pipeline.safety.Safety) holds pause, scope, the brakes
    and the caps; `reads` the resource reads kept for a batch; `owner_of` says which platform
    manages a resource read (None: nobody's)."""

    def __init__(self, safety: Safety, registry: Registry | None, reads: BatchReads | None, clock: Callable[[], datetime], *,
                 owner_of: Callable[[ResourceInfo, ResourceId | str], str | None], ceiling: str | None = None,
                 temp_disk_tags: tuple[str, ...] = ("large-temp-disk",), approvals_configured: bool = True) -> None:
        from actions.permits import PermitOffice

        self.safety = safety
        self.registry = registry
        self.reads = reads
        self.clock = clock
        self.owner_of = owner_of
        self.ceiling = ceiling if ceiling in MODES else None
        self.temp_disk_tags = tuple(t.lower() for t in temp_disk_tags)
        self.approvals_configured = approvals_configured
        self._office = PermitOffice()

    @classmethod
    def admitting(cls, safety: Safety, clock: Callable[[], datetime]) -> Gate:
        """A gate for a pipeline with no Azure to act on: it admits or refuses, never permits."""
        return cls(safety, None, None, clock, owner_of=lambda info, resource_id: None,
                   ceiling=getattr(safety.settings, "mode", None))

    # -- what needs no read -------------------------------------------------------------------

    def admit(self, request: WriteRequest) -> Clearance | None:
        """A fresh decision, before its incident's action is held: pause (for an acting mode),
        scope (for any decision) and the event's age. None: go on."""
        outside = self.safety.out_of_scope(request.target)
        if outside:
            return self._skip(request, f"out of scope: {outside}; nothing is read or written", f"scope: {outside}")
        if request.action == "none":
            return None
        return self._paused(request, self.safety.reads()) or self._stale(request)

    def _paused(self, request: WriteRequest, reads: DecisionReads) -> Clearance | None:
        paused = reads.paused()
        if paused and (request.mode in ACTING_MODES or request.road != SIGNAL):
            return self._skip(request, f"automation is paused ({paused}); nothing is written", f"pause: {paused}")
        return None

    def _stale(self, request: WriteRequest) -> Clearance | None:
        age = request.claim.age
        if request.road not in _SAME_WRITE and age is not None and age > request.max_event_age:
            hours = age.total_seconds() / 3600
            limit = request.max_event_age.total_seconds() / 3600
            return self._skip(request, (f"the event was {hours:.1f} h old when it arrived (max_event_age {limit:g} h): "
                                        "it is recorded and told, never acted on"), "max_event_age")
        return None

    def before_read(self, request: WriteRequest, seen: dict[str, Any] | None = None,
                    reads: DecisionReads | None = None) -> Clearance | None:
        """Pause, scope, the event's age and the ledger's brakes: a refusal here costs no read.
        `seen` gathers the brakes' counters; `reads` is what this decision read so far."""
        mode = request.mode
        reads = self.safety.reads() if reads is None else reads
        refused = self._paused(request, reads)
        if refused is not None:
            return refused
        outside = self.safety.out_of_scope(request.target)
        if outside:
            return self._skip(request, f"out of scope: {outside}; nothing is written", f"scope: {outside}")
        refused = self._stale(request)
        if refused is not None:
            return refused
        if mode in ACTING_MODES and request.road not in _SAME_WRITE:
            refusal = self.safety.ledger_brakes(request.target, seen, reads)
            if refusal:
                return self._skip(request, f"{refusal[0]}: {refusal[1]}", f"{refusal[0]}: {refusal[1]}",
                                  *refusal[2:])
        return None

    # -- the whole check, at the moment of the write ------------------------------------------

    def clear(self, request: WriteRequest, clients: Any, issue: bool = True) -> Clearance:
        """Raises actions.ActionError when the resource or its state cannot be read: nothing is
        done to a resource that could not be looked at (the caller decides whether to wait).
        `issue=False`: judge only (a maintenance wave enrols the VM; its turn passes the gate
        again and gets the permit then). The clearance's `reading` says what was read, whether
        the claim held and what the brakes counted: recorded, so the decision can be re-decided."""
        reading: dict[str, Any] = {"action": request.action, "approvals_configured": self.approvals_configured}
        clearance = self._clear(request, clients, issue, reading)
        return replace(clearance, reading=reading)

    def _clear(self, request: WriteRequest, clients: Any, issue: bool, reading: dict[str, Any]) -> Clearance:
        seen: dict[str, Any] = reading.setdefault("brakes", {})
        # One read of each brake's rows for this clearance, both passes. The pause switch is read
        # here again although `admit` read it a moment ago: a pause set while the incident's
        # action was held must stop the write that follows.
        reads = self.safety.reads()
        refused = self.before_read(request, seen, reads)
        if refused is not None:
            return refused
        from actions.scale_set_write import missing_role

        if self.registry is None or self.reads is None:
            raise RuntimeError("a gate without Azure (Gate.admitting) clears no write: it only admits")
        executor = self.registry.get(request.action)
        executor.resolve(request.target)  # NotApplicableError: an action that does not apply
        missing = missing_role(request.action, executor.permissions, clients)
        if missing:  # the deployment did not grant the opt-in scale-set write role: nothing to read
            reading["missing_role"] = missing
            return self._skip(request, f"not acting: {missing}", "scale-set write role")
        info = self.reads.info(clients, request.target)
        reading["read"] = recorded_info(info)
        facts = {**request.facts, "tags": dict(info.tags), "location": info.location, "capacity": info.capacity,
                 "scale_set_id": info.scale_set_id}
        request = replace(request, facts=facts)
        owner = self.owner_of(info, request.target)
        if owner:
            return self._skip(request, f"left alone: {owner}", "ownership", owned_by=owner)
        mode, why = self._mode_in_force(request, info, reads)
        brakes = request.brakes + ((f"mode tag: {why}",) if why else ())
        request = replace(request, brakes=brakes)
        if mode == "off":  # the tag's brake is already among the request's: once is enough
            return self._skip(request, f"mode tag: {why}", None)
        loses_disk = request.action in LOSES_TEMP_DISK and self._keeps_temp_data(info)
        if loses_disk:
            facts["temp_disk_loss"] = True
        if mode in ACTING_MODES and request.road not in _SAME_WRITE:
            refusal = self.safety.resource_brakes(request.target, info, seen, reads)
            if refusal:
                return self._skip(request, f"{refusal[0]}: {refusal[1]}", f"{refusal[0]}: {refusal[1]}", *refusal[2:],
                                  mode=mode)
        if request.road == CONTINUATION:  # the second step of a write already let through: no new claim
            return self._permit(request, mode, "the operation's next step", facts)
        params = {**request.params, "now": self.clock()}
        if request.claim.annotation:
            params.setdefault("signal_annotation", request.claim.annotation)
        verdict = executor.verify(clients, request.target, params)
        reading["verified"] = {"holds": verdict.holds, "reason": verdict.reason, "facts": dict(verdict.facts)}
        facts.update(verdict.facts)  # the request's own facts (the same dict): a refusal below carries them
        if not verdict.holds:
            return self._skip(request, f"verified against the live state: {verdict.reason}", None, mode=mode)
        holds, evidence = judge(request.evidence or default_evidence(request.action, request.claim.kind,
                                                                      request.claim.category),
                                facts, self._claim_facts(request))
        if not holds:
            return self._skip(request, f"verified against the live state: {evidence}", None, mode=mode)
        verified = "; ".join(part for part in (verdict.reason, evidence) if part)
        if loses_disk:
            verified += f"; {TEMP_DISK_WARNING} (tagged as keeping data there)"
        if mode == "observe":
            return Clearance("planned", f"would {request.action} now: {verified}", mode, request.brakes, facts)
        needs_person = mode == "approve" or loses_disk
        if needs_person and not request.approved_by:
            if not self.approvals_configured:
                return self._skip(request, (f"{verified}; it needs a person's approval "
                                            f"({'temporary-disk data is lost' if loses_disk else 'approve mode'}) and "
                                            "approvals are not configured (RESPONDER_APPROVAL_SECRET)"), None, mode=mode)
            why = (f"; {request.action} loses the temporary disk of a VM tagged as keeping data there, so a person "
                   "approves it even in auto mode") if loses_disk and mode == "auto" else ""
            # Whatever the mode in force, a write that waits for a person waits in approve mode.
            return Clearance("awaiting-approval", f"verified: {verified}{why}", "approve", request.brakes, facts)
        if not issue:
            return Clearance("act", f"verified: {verified}", mode, request.brakes, facts)
        return self._permit(request, mode, f"verified: {verified}", facts, seen)

    def _permit(self, request: WriteRequest, mode: str, reason: str, facts: dict[str, Any],
                seen: dict[str, Any] | None = None) -> Clearance:
        if request.road not in _SAME_WRITE:
            refusal = self.safety.reserve(request.target, request.holder, facts.get("capacity"),
                                          facts.get("scale_set_id"), seen=seen)
            if refusal:
                return Clearance("skipped", refusal, mode, (*request.brakes, refusal), facts)
        permit = self._office.issue(request.action, request.resource_id, request.holder, reason)
        return Clearance("act", reason, mode, request.brakes, facts, permit)

    def unused(self, clearance: Clearance) -> None:
        """A permit the caller did not use (it found it had nothing to send): void it."""
        if clearance.permit is not None:
            self._office.take_back(clearance.permit)

    # -- the parts ----------------------------------------------------------------------------

    def _mode_in_force(self, request: WriteRequest, info: Any, reads: DecisionReads) -> tuple[str, str]:
        tag_name = self.safety.policy.mode_tag.lower()
        tag = next((v for k, v in info.tags.items() if k.lower() == tag_name), None)
        paused = bool(reads.paused()) if tag is not None else False
        base = request.mode
        if self.ceiling is not None and MODES.index(base) > MODES.index(self.ceiling):
            base = self.ceiling
        return effective_mode(base, tag, request.tag_may_raise_to, ceiling=self.ceiling, paused=paused)

    def _keeps_temp_data(self, info: Any) -> bool:
        for key, value in info.tags.items():
            if key.lower() in self.temp_disk_tags and str(value).strip().lower() not in ("false", "no", "0", ""):
                return True
        return False

    def _claim_facts(self, request: WriteRequest) -> dict[str, Any]:
        claim: dict[str, Any] = {"annotation": request.claim.annotation}
        repeat = request.claim.repeat
        if repeat:
            within = parse_duration(repeat["within"], "when.repeat.within")
            now = self.clock()
            claim["repeat_count"] = int(repeat["count"])
            claim["occurrences"] = self.safety.occurrences(request.target, request.claim.name, now - within, now)
        return claim

    def _skip(self, request: WriteRequest, reason: str, brake: str | None, *extra: Any, mode: str | None = None,
              **more: Any) -> Clearance:
        facts = {**request.facts, **more}  # what was read of the resource, the verdict's facts among them
        for item in extra:
            if isinstance(item, Mapping):
                facts.update(item)
        brakes = request.brakes + ((brake,) if brake else ())
        return Clearance("skipped", reason, mode or request.mode, brakes, facts)
