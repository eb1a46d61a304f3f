"""The ARM clients the actions use, built once per worker and per subscription.

A Functions worker serves many invocations; building an SDK client (its pipeline, its TLS
context, its token cache) on every one would waste the cold-start budget and the token
endpoint, so clients are cached, and every client of one AzureClients shares one HTTP session
(actions/transport.py: one TLS connection pool, bounded timeouts and retries). The SDK modules
are imported here, on first use only, so that `import actions` stays light; `warm` does that
first use ahead of the first action, for a worker that will act.
"""

from __future__ import annotations

import threading
from typing import Any

from .errors import NoSubscriptionError

# The SDK's default poll interval is 30 s; the actions never sleep between polls themselves
# (the timer tick does the waiting), so this only matters to callers that wait on a poller.
DEFAULT_POLLING_INTERVAL = 5.0
ARM_SCOPE = "https://management.azure.com/.default"


class AzureClients:
    """One ComputeManagementClient and one ResourceHealthMgmtClient per subscription, and one
    ResourceGraphClient (the annotations still active, actions/active_annotations.py).

    `base_url` and `connection_verify` point the same code at the simulated Azure;
    `credential` defaults to DefaultAzureCredential (a user-assigned identity is chosen by
    AZURE_CLIENT_ID). Retries are the SDK's, bounded (actions/transport.py): 429 and 5xx are
    retried a few times and a short Retry-After is honoured; a longer one, or a refusal that
    lasts, is the caller's to record and the tick's to try again; a POST whose answer was lost
    is never re-sent by the SDK.
    """

    _cache: dict[tuple, AzureClients] = {}
    _cache_lock = threading.Lock()

    def __init__(
        self,
        subscription_id: str | None = None,
        base_url: str | None = None,
        connection_verify: bool | str = True,
        credential: Any = None,
        polling_interval: float = DEFAULT_POLLING_INTERVAL,
        *,
        scale_set_write: bool = True,
        client_id: str | None = None,
        **client_kwargs: Any,
    ) -> None:
        # The default subscription (AZURE_SUBSCRIPTION_ID) and the user-assigned identity
        # (AZURE_CLIENT_ID) come from the settings (pipeline/settings.py), which read them.
        self.subscription_id = subscription_id
        self.client_id = client_id
        self.base_url = base_url
        self.connection_verify = connection_verify
        self.polling_interval = polling_interval
        # Whether the identity holds the opt-in scale-set write role (RESPONDER_SCALE_SET_WRITE):
        # the two actions that PATCH a scale set are skipped without it (actions/scale_set_write.py).
        self.scale_set_write = scale_set_write
        self._credential = credential
        self._client_kwargs = client_kwargs
        self._compute: dict[str, Any] = {}
        self._health: dict[str, Any] = {}
        self._graph: Any = None  # one ResourceGraphClient: its queries name their subscriptions
        self._session: Any = None  # actions.transport.SharedSession, with the first client
        self._lock = threading.Lock()

    @classmethod
    def build(
        cls,
        subscription_id: str | None = None,
        base_url: str | None = None,
        connection_verify: bool | str = True,
        credential: Any = None,
        polling_interval: float = DEFAULT_POLLING_INTERVAL,
        *,
        scale_set_write: bool = True,
        client_id: str | None = None,
        **client_kwargs: Any,
    ) -> AzureClients:
        """The cached clients for these settings (built on first call in this worker)."""
        key = (
            subscription_id,
            base_url,
            connection_verify,
            id(credential) if credential is not None else None,
            polling_interval,
            scale_set_write,
            client_id,
            tuple(sorted((k, repr(v)) for k, v in client_kwargs.items())),
        )
        with cls._cache_lock:
            clients = cls._cache.get(key)
            if clients is None:
                clients = cls(subscription_id, base_url, connection_verify, credential, polling_interval,
                              scale_set_write=scale_set_write, client_id=client_id, **client_kwargs)
                cls._cache[key] = clients
            return clients

    @classmethod
    def clear_cache(cls) -> None:
        with cls._cache_lock:
            for clients in cls._cache.values():
                clients.close()
            cls._cache.clear()

    @property
    def credential(self) -> Any:
        if self._credential is None:
            with self._lock:
                if self._credential is None:
                    from azure.identity import DefaultAzureCredential

                    self._credential = DefaultAzureCredential(
                        managed_identity_client_id=self.client_id or None
                    )
        return self._credential

    def compute(self, subscription_id: str | None = None) -> Any:
        """The ComputeManagementClient for a subscription (the default one when omitted)."""
        sub = self._subscription(subscription_id)
        credential = self.credential  # outside the lock: it takes the lock itself the first time
        with self._lock:
            client = self._compute.get(sub.lower())
            if client is None:
                from azure.mgmt.compute import ComputeManagementClient

                client = self._compute[sub.lower()] = ComputeManagementClient(credential, sub, **self._kwargs())
            return client

    def health(self, subscription_id: str | None = None) -> Any:
        """The ResourceHealthMgmtClient for a subscription (the default one when omitted)."""
        sub = self._subscription(subscription_id)
        credential = self.credential
        with self._lock:
            client = self._health.get(sub.lower())
            if client is None:
                from azure.mgmt.resourcehealth import ResourceHealthMgmtClient

                client = self._health[sub.lower()] = ResourceHealthMgmtClient(credential, sub, **self._kwargs())
            return client

    def graph(self) -> Any:
        """The ResourceGraphClient (Resource Graph is tenant-wide: a query names its subscriptions)."""
        credential = self.credential
        with self._lock:
            if self._graph is None:
                from azure.mgmt.resourcegraph import ResourceGraphClient

                kwargs = self._kwargs()
                kwargs.pop("polling_interval", None)  # no long-running operations here
                self._graph = ResourceGraphClient(credential, **kwargs)
            return self._graph

    def warm(self, subscription_id: str | None = None) -> None:
        """Do now what the first action would otherwise wait for: import the SDKs and the HTTP
        stack (about 0.4 s on a small worker), open the shared session and, for a subscription
        (or the default one) when one is known, build its clients and fetch a token."""
        sub = subscription_id or self.subscription_id
        if sub:
            self.compute(sub)
            self.health(sub)
        else:
            import azure.mgmt.compute  # noqa: F401
            import azure.mgmt.resourcehealth  # noqa: F401

            with self._lock:
                self._shared_session().transport()
        self.credential.get_token(ARM_SCOPE)  # the credential caches it for the clients' first calls

    def close(self) -> None:
        with self._lock:
            clients = list(self._compute.values()) + list(self._health.values())
            if self._graph is not None:
                clients.append(self._graph)
            self._compute.clear()
            self._health.clear()
            self._graph = None
            session, self._session = self._session, None
        for client in clients:
            client.close()
        if session is not None:
            session.close()

    def _subscription(self, subscription_id: str | None) -> str:
        sub = subscription_id or self.subscription_id
        if not sub:
            raise NoSubscriptionError("no subscription id: pass one or set AZURE_SUBSCRIPTION_ID")
        return sub

    def _shared_session(self) -> Any:
        """Called with the lock held."""
        if self._session is None:
            from .transport import SharedSession

            self._session = SharedSession(self.connection_verify)
        return self._session

    def _kwargs(self) -> dict[str, Any]:
        """Called with the lock held. A caller's own transport or retry policy wins."""
        from .transport import retry_policy

        kwargs: dict[str, Any] = dict(self._client_kwargs)
        kwargs["polling_interval"] = self.polling_interval
        kwargs["connection_verify"] = self.connection_verify
        if self.base_url:
            kwargs["base_url"] = self.base_url
        if "transport" not in kwargs:
            kwargs["transport"] = self._shared_session().transport()
        if "retry_policy" not in kwargs:
            retries = {k: v for k, v in kwargs.items() if k.startswith("retry_")}
            kwargs["retry_policy"] = retry_policy(**retries)
        return kwargs
