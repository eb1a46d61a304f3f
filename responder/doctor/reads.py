"""The reads doctor makes: ARM and Microsoft Graph over HTTPS with a bearer token.

Only GETs, and the POSTs that ARM and App Service use for reading (`.../appsettings/list`,
`.../listkeys`): doctor never changes the deployment. One small client over `requests` (a
dependency of azure-core already) rather than a management SDK per service: doctor reads a
handful of resources once, and the SDKs would add seconds of imports for it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

ARM = "https://management.azure.com"
ARM_SCOPE = "https://management.azure.com/.default"
GRAPH = "https://graph.microsoft.com/v1.0"
GRAPH_SCOPE = "https://graph.microsoft.com/.default"

API = {
    "web": "2024-04-01",
    "authorization": "2022-04-01",
    "eventgrid": "2025-02-15",
    "action_groups": "2023-01-01",
    "alerts": "2020-10-01",
}


class ReadError(Exception):
    """A read was refused or failed; `status` is the HTTP status (0: no answer)."""

    def __init__(self, what: str, status: int, message: str) -> None:
        super().__init__(f"{what}: {status or 'no answer'} {message}".strip())
        self.status = status


@dataclass
class Reader:
    credential: Any
    arm: str = ARM
    graph: str = GRAPH
    verify: bool | str = True
    timeout: float = 30.0

    def __post_init__(self) -> None:
        import requests

        self._session = requests.Session()
        self._tokens: dict[str, str] = {}

    def _token(self, scope: str) -> str:
        if scope not in self._tokens:
            self._tokens[scope] = self.credential.get_token(scope).token
        return self._tokens[scope]

    def _call(self, method: str, url: str, scope: str, what: str) -> Any:
        import requests

        try:
            answer = self._session.request(method, url, headers={"Authorization": f"Bearer {self._token(scope)}"},
                                           verify=self.verify, timeout=self.timeout)
        except requests.RequestException as exc:
            raise ReadError(what, 0, str(exc)) from exc
        if answer.status_code >= 400:
            try:
                error = answer.json().get("error", {})
                message = f"{error.get('code', '')}: {error.get('message', '')}"
            except ValueError:
                message = answer.text[:200]
            raise ReadError(what, answer.status_code, message)
        return answer.json() if answer.content else {}

    def arm_get(self, path: str, api: str, what: str, query: str = "") -> Any:
        return self._call("GET", f"{self.arm}{path}?api-version={API[api]}{query}", ARM_SCOPE, what)

    def arm_post(self, path: str, api: str, what: str) -> Any:
        return self._call("POST", f"{self.arm}{path}?api-version={API[api]}", ARM_SCOPE, what)

    def arm_list(self, path: str, api: str, what: str, query: str = "") -> list[dict]:
        page = self.arm_get(path, api, what, query)
        items = list(page.get("value", []))
        while page.get("nextLink"):
            page = self._call("GET", page["nextLink"], ARM_SCOPE, what)
            items += page.get("value", [])
        return items

    def graph_get(self, path: str, what: str) -> Any:
        return self._call("GET", f"{self.graph}{path}", GRAPH_SCOPE, what)

    def close(self) -> None:
        self._session.close()


def filter_assigned_to(principal_id: str) -> str:
    return "&$filter=" + quote(f"assignedTo('{principal_id}')")
