"""Timer triggers. The tick (default every minute) follows started operations to their end and
is the one sender of notifications (a delivery only records them: pipeline/notifications.py);
the sweep (default every 15 minutes) reads the scope for what no event announced; the purge
(default daily at 03:30 UTC) forgets what is past the audit trail's retention.

Schedules are app settings (`%RESPONDER_TICK_SCHEDULE%`), resolved by the Functions host, so
they change without a deployment. A timer may retry on failure; every step the tick takes is
safe to repeat (conditional writes, state read before any write).
"""

from __future__ import annotations

import azure.functions as func

from . import runtime

bp = func.Blueprint()


@bp.function_name("tick")
@bp.timer_trigger(arg_name="timer", schedule="%RESPONDER_TICK_SCHEDULE%", run_on_startup=False, use_monitor=True)
def tick(timer: func.TimerRequest) -> None:
    runtime.pipeline().tick()


@bp.function_name("sweep")
@bp.timer_trigger(arg_name="timer", schedule="%RESPONDER_SWEEP_SCHEDULE%", run_on_startup=False, use_monitor=True)
def sweep(timer: func.TimerRequest) -> None:
    from pipeline import Settings
    from sweep import sweep_run

    pipeline = runtime.pipeline()
    sweep_run(pipeline, Settings.from_env())  # Resource Graph from the ledger's cursor, within RESPONDER_SWEEP_BUDGET
    pipeline.end_batch()  # tell people what the sweep found, in one outbox transaction


@bp.function_name("purge")
@bp.timer_trigger(arg_name="timer", schedule="%RESPONDER_PURGE_SCHEDULE%", run_on_startup=False, use_monitor=True)
def purge(timer: func.TimerRequest) -> None:
    from pipeline import Settings
    from pipeline.retention import purge_expired

    purge_expired(runtime.pipeline(), Settings.from_env())
