"""GET /api/waves and POST /api/waves/{id}/close: the maintenance waves, for a person.

Function key (not anonymous: closing a wave lets a scope plan maintenance again). GET lists the
live waves (`?all=true`: every wave); POST closes a stopped wave, answering 404 for an unknown id
and 409 for a wave that is not stopped. Who closed it: the signed-in person when the deployment
has App Service sign-in on (RESPONDER_APPROVER_SIGN_IN; otherwise a caller could have written the
header), else `?by=`, else "the holder of a function key".
"""

from __future__ import annotations

import azure.functions as func

from . import runtime
from .approvals import signed_in_name
from .http import json_response, problem

bp = func.Blueprint()


@bp.function_name("waves")
@bp.route(route="waves", methods=["GET"], auth_level=func.AuthLevel.FUNCTION)
def waves(req: func.HttpRequest) -> func.HttpResponse:
    from waves import list_waves

    every = (req.params.get("all") or "").strip().lower() in ("1", "true", "yes")
    return json_response(200, {"waves": list_waves(runtime.pipeline().ledger, None if every else ("open", "stopped"))})


@bp.function_name("close_wave")
@bp.route(route="waves/{wave_id}/close", methods=["POST"], auth_level=func.AuthLevel.FUNCTION)
def close_wave(req: func.HttpRequest) -> func.HttpResponse:
    from waves import WaveNotFoundError, WavesError
    from waves import close_wave as close

    pipeline = runtime.pipeline()
    wave_id = req.route_params.get("wave_id") or ""
    by = signed_in_name(req, pipeline) or (req.params.get("by") or "").strip()[:200] or "the holder of a function key"
    try:
        return json_response(200, {"closed": close(pipeline.ledger, wave_id, by, pipeline.clock())})
    except WaveNotFoundError as exc:
        return problem(404, "wave_id", str(exc))
    except WavesError as exc:
        return problem(409, "wave_id", str(exc))
