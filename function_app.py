"""Resource Health Responder: every trigger of the Functions app, at a glance.

Each Blueprint is a thin adapter in handlers/ that parses its payload and hands it to the one
pipeline (pipeline/); heavy SDKs are imported only when first needed.
"""

import azure.functions as func

import telemetry
from handlers import alerts, approvals, event_grid, events, runtime, timers, waves
from pipeline.settings import telemetry_settings

# Azure Monitor export, only when APPLICATIONINSIGHTS_CONNECTION_STRING is set (lazy import).
telemetry.configure(telemetry_settings())

# A worker that acts on Azure (RESPONDER_AZURE set) builds its pipeline and warms its ARM clients
# in the background while the host starts, so its first remediation does not wait for them.
runtime.prepare_in_background()

app = func.FunctionApp()

# Event Grid system topics: Resource Health annotations and availability changes
# (Microsoft.ResourceNotifications.HealthResources) and scheduled events
# (Microsoft.ResourceNotifications.MaintenanceResources).
app.register_functions(event_grid.bp)

# POST /api/alerts: action groups (Service Health, Resource Health, scale-set
# setOrchestrationServiceState), common alert schema or legacy Activity Log schema.
app.register_functions(alerts.bp)

# POST/OPTIONS /api/events: Event Grid webhook endpoint for subscriptions made by URL.
app.register_functions(events.bp)

# Timers: the tick (RESPONDER_TICK_SCHEDULE, every minute) follows started ARM operations to
# their end and recovers any intent a crashed worker left behind; the sweep
# (RESPONDER_SWEEP_SCHEDULE, every 15 minutes) reads the scope for what no event announced; the
# purge (RESPONDER_PURGE_SCHEDULE, daily) forgets what is past RESPONDER_RETENTION_DAYS (90).
app.register_functions(timers.bp)

# GET/POST /api/approvals/{token} (no function key: the signed token names the approval, and in
# Azure App Service sign-in names the person, who must be among the approvers): a person
# following an Approve or Reject link from Teams or email. GET shows, POST decides once.
app.register_functions(approvals.bp)

# GET /api/waves and POST /api/waves/{id}/close (function key): the maintenance waves, and closing
# a stopped one so that its scope can plan maintenance again.
app.register_functions(waves.bp)
