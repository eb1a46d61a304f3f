"""The words the app speaks: signal kinds, actions, modes, outcome statuses.

Kept in one place so that parsers, the catalog, the policy schema, the command line and the
tests all agree, and a test can walk every entry.
"""

KINDS = (
    "annotation",
    "availability",
    "scheduled-event",
    "service-health",
    "resource-health",
    "repair-state",
    "maintenance-status",
)

ACTIONS = (
    "redeploy",
    "restart",
    "perform-maintenance",
    "reimage",
    "resume-automatic-repairs",
    "enable-automatic-repairs",
    "replace-failed-instance",
    "none",
)

# Ordered from least to most power: a tag may lower a mode, never raise it past policy.
MODES = ("observe", "approve", "auto")

STATUSES = (
    "planned",
    "awaiting-approval",
    "started",
    "succeeded",
    "failed",
    "skipped",
    "duplicate",
    "rejected",
    "noop",
)

INITIATORS = ("platform", "customer", "vm", "unknown")

IMPACTS = ("downtime-reboot", "downtime-freeze", "degraded", "informational", "unknown")

RESOURCE_TYPES = {
    "vm": "microsoft.compute/virtualmachines",
    "scale-set": "microsoft.compute/virtualmachinescalesets",
    "scale-set-vm": "microsoft.compute/virtualmachinescalesets/virtualmachines",
}
