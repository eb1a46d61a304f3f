"""Build a pipeline from settings: the one place that knows which backend fills which port, and
which of the rooms above the pipeline (approvals, waves, repair holds, notifications) join it.
It sits on the floor above them all, so the pipeline itself never imports them."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from pipeline import metrics
from pipeline.azure import Connect, connector
from pipeline.core import Listener, Pipeline, utc_now
from pipeline.errors import SettingsError
from pipeline.notifications import Notifications
from pipeline.remediation import Remediation
from pipeline.safety import Safety
from pipeline.settings import Settings
from rules import Engine, Policy, load_catalog, load_policy
from rules.ports import Store
from telemetry.logs import log

if TYPE_CHECKING:  # types only: notify/ is imported when a channel is configured
    from notify import Notifier


def build_pipeline(
    settings: Settings,
    ledger: Store | None = None,
    clock: Callable[[], datetime] | None = None,
    connect: Connect | None = None,
    notifier: Notifier | Literal[False] | None = None,
) -> Pipeline:
    """`connect` (or RESPONDER_AZURE) gives the pipeline an Azure to verify against and act on;
    `notifier` (or the channel settings) someone to tell; `notifier=False` for nobody."""
    from ledger import open_ledger

    catalog = load_catalog(settings.catalog_path, settings.catalog_extra)
    policy = load_policy(settings.policy_path, catalog)
    for warning in policy.leave_alone.warnings():  # every start says so: lifting one is a choice to revisit
        log(warning, level=logging.WARNING, policy=str(settings.policy_path))
    catalog = policy.catalog or catalog  # with the policy's own `catalog:` entries
    engine = Engine(catalog, policy, mode_override=settings.mode)
    clock = clock or utc_now
    store: Store = ledger or open_ledger(settings.ledger, settings)
    connect = connect or connector(settings)
    safety = Safety(settings, policy, store, clock)
    if connect:
        require_scope_to_act(settings, policy)
    remediator = Remediation(store, connect, clock, safety=safety, ceiling=settings.mode) if connect else None
    if remediator is not None:  # a worker that acts: its first action should not build the ARM clients
        remediator.warm_up(settings.subscriptions)
    # Waves only act through a remediator. Without one, the maintenance section is still checked
    # when the policy is an operator's (a mistake shows at start-up), not when it is the shipped
    # one the tests checked: then the waves package is not even imported (cold start).
    if remediator is not None or not policy.checked_in_tests:
        from waves import Waves, parse_maintenance

        maintenance = parse_maintenance(policy.sections.get("maintenance"), f"{settings.policy_path}: maintenance", policy.checked_in_tests)
        if remediator is not None:  # every backend keeps waves (rules.ports.WaveStore)
            remediator.waves = Waves(store, remediator, maintenance, clock)
    # Approvals whenever a secret is set; approve mode without one refuses to build (ApprovalConfigError).
    # Neither: the approvals package is not imported (cold start).
    approvals = requests = None
    if settings.approval_secret or policy.waits_for_a_person(settings.mode):
        from approvals import ApprovalRequests, approvals_for

        approvals = approvals_for(settings, policy, store, clock)
        requests = ApprovalRequests(approvals) if approvals else None
    if remediator is not None:  # a write that needs a person (the temporary disk) has nobody to ask without them
        remediator.gate.approvals_configured = approvals is not None
    listeners: list[Listener] = [metrics.count, *([requests] if requests else [])]
    from sweep.holds import RepairHolds  # light: rules only

    listeners.append(RepairHolds(store))  # a person's Suspend of a scale set's repairs is held, never resumed
    if remediator is not None:  # its kept reads are dropped when the pipeline ends a batch
        listeners.append(remediator.reads)
    if notifier is None:
        notifier = notifier_from_settings(settings, policy, store, clock)
    if notifier:  # False: none wanted
        if approvals is not None:
            notifier.sign_links_with(approvals.link_for)
        listeners.append(Notifications(notifier, catalog, clock, approval_of=requests.for_step if requests else None))
    return Pipeline(store, engine, clock=clock, remediator=remediator, listeners=listeners, safety=safety)


def require_scope_to_act(settings: Settings, policy: Policy) -> None:
    """The acting modes need a subscription scope: without one they would act wherever the
    identity can reach. Observe (which never writes) runs without one."""
    if settings.subscriptions:
        return
    acting = ("approve", "auto")
    if settings.mode is not None:
        can_act = settings.mode in acting
    else:
        can_act = (policy.default_mode in acting or any(rule.mode in acting or rule.tag_may_raise_to in acting
                                                         for rule in policy.rules if rule.action != "none"))
    if can_act:
        raise SettingsError("RESPONDER_SUBSCRIPTIONS is empty: approve and auto modes act only in the subscriptions "
                            "it names (a comma-separated list of subscription ids); set it, or run in observe mode")


def notifier_from_settings(settings: Settings, policy: Policy, store: Store, clock: Callable[[], datetime],
                           **kwargs: Any) -> Notifier | None:
    """A Notifier when any channel is configured (Teams webhooks, a mail sender, an outbox folder)."""
    if not (settings.notify.configured or kwargs.get("outbox_dir")):
        return None
    from ledger import outbox_for
    from notify import Notifier

    if settings.azure == "sim" and kwargs.get("credential") is None:
        # The simulated Azure's Graph takes the simulated token, as its ARM does (pipeline/azure.py).
        from pipeline.azure import LocalToken

        kwargs["credential"] = LocalToken()
    # The outbox lives beside the ledger: its SQLite file, or its Table Storage service and prefix.
    outbox = outbox_for(store)
    return Notifier.from_settings(settings.notify, outbox, clock, policy_routes=policy.sections.get("notify_routes"),
                                  policy_default_routes=policy.default_notify, **kwargs)


def store_of(pipeline: Pipeline) -> Store:
    """The whole store behind a pipeline: what the command line reads (operations, the outbox beside it)."""
    return pipeline.ledger


def notifications_of(pipeline: Pipeline) -> Notifications | None:
    return next((listener for listener in pipeline.listeners if isinstance(listener, Notifications)), None)
