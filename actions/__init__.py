"""Remediation actions: one executor per action, on azure-mgmt-compute's long-running operations.

    from actions import registry, required_permissions, AzureClients
    clients = AzureClients.build(subscription_id=None, base_url=None, connection_verify=True, credential=None)
    executor = registry.get("redeploy")
    verdict = executor.verify(clients, resource_id, params)   # Verdict(holds, reason, facts)
    op = executor.start(clients, resource_id, params)         # Operation(action, resource_id, token, started_at)
    status = executor.poll(clients, op)                       # OperationStatus(state, message, operation)
    recovery = executor.recover(clients, resource_id, params, since, intent)  # Recovery(state, reason, operation)

Importing this package does not import the Azure SDKs: executors import them on first use,
so a Functions cold start that never acts does not pay for them. See docs/actions.md.
"""

from . import machine_actions as _machine_actions  # noqa: F401  (registers redeploy, restart, reimage)
from . import maintenance as _maintenance  # noqa: F401  (registers perform-maintenance)
from . import repairs as _repairs  # noqa: F401  (registers the automatic-repairs actions)
from . import replace_failed as _replace_failed  # noqa: F401  (registers replace-failed-instance)
from .base import Executor
from .clients import AzureClients
from .errors import ActionError, UnknownActionError
from .registry import Registry, actions_needing_scale_set_write, registry, required_permissions, scale_set_write_permissions
from .results import Operation, OperationStatus, Recovery, Verdict

__all__ = [
    "ActionError",
    "AzureClients",
    "Executor",
    "Operation",
    "OperationStatus",
    "Recovery",
    "Registry",
    "UnknownActionError",
    "Verdict",
    "actions_needing_scale_set_write",
    "registry",
    "required_permissions",
    "scale_set_write_permissions",
]
