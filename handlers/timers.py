"""Timer triggers. The tick (default every minute) follows started operations to their end.

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
