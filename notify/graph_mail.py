"""The email channel: Microsoft Graph `POST /users/{sender}/sendMail` with application credentials.

The SDK's retry handler is turned off for sendMail (`RetryHandlerOption(max_retries=0)`): it
retries 429/503/504 on POST too, which can send a message Exchange already accepted twice.
Retries come from the outbox instead, and they are made safe like this:

- every message carries an `internetMessageId` made when it was first recorded, and the very
  same payload is sent on every attempt;
- a 429 was not accepted: wait for Retry-After and send again;
- a 5xx, a timeout or a lost connection may have been accepted ("503 after accepting"): before
  sending again, the outbox asks Graph for the sender's Sent Items message with that
  `internetMessageId` (needs Mail.ReadBasic on the sender's mailbox, scoped like Mail.Send).
  Found: it went out, mark it sent. Not found: send again. Cannot ask (401/403): do not send
  again; the message is marked failed ("delivery unconfirmed") and stays visible.

The HTML is the body; the plain-text rendering rides along as a small text/plain attachment,
because Graph's JSON message has one body (no multipart/alternative).
"""

from __future__ import annotations

import asyncio
import threading
from typing import TYPE_CHECKING, Any

from .errors import NotifyConfigError, RejectedError, ThrottledError, UnavailableError, UncertainDeliveryError
from .retry import parse_retry_after
from .tls import verify_arg

if TYPE_CHECKING:  # types only: the Graph SDK is imported when the first mail is sent
    import httpx
    from msgraph import GraphServiceClient

GRAPH_URL = "https://graph.microsoft.com/v1.0"
GRAPH_SCOPE = "https://graph.microsoft.com/.default"


class GraphMailChannel:
    channel = "email"
    resend_when_unsure = False  # ask Sent Items first; never send blind after a possible accept

    def __init__(
        self,
        sender: str,
        *,
        credential: Any = None,
        base_url: str | None = None,
        verify: Any = True,
        timeout: float = 30.0,
        confirm_sent: bool = True,
    ) -> None:
        if not sender:
            raise NotifyConfigError("RESPONDER_MAIL_SENDER is not set")
        self.sender = sender
        self.credential = credential
        self.base_url = (base_url or GRAPH_URL).rstrip("/")
        self.verify = verify
        self.timeout = timeout
        self.confirm_sent = confirm_sent
        self.ids_refused = False  # Graph refused a client-set internetMessageId once: stop setting it
        self._loop: asyncio.AbstractEventLoop | None = None
        self._client: GraphServiceClient | None = None  # both built on first use
        self._http: httpx.AsyncClient | None = None
        self._lock = threading.Lock()

    # -- plumbing: one private event loop and one Graph client per channel ------------------

    def _run(self, coro):
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return self._run_here(coro)
        # Called from async code (an async Functions handler): our loop cannot run inside
        # theirs, so it runs on a short-lived thread while the caller waits.
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="graph-mail") as pool:
            return pool.submit(self._run_here, coro).result()

    def _run_here(self, coro):
        with self._lock:
            if self._loop is None or self._loop.is_closed():
                self._loop = asyncio.new_event_loop()
            return self._loop.run_until_complete(coro)

    def _graph(self):
        if self._client is None:
            import httpx
            from kiota_authentication_azure.azure_identity_authentication_provider import AzureIdentityAuthenticationProvider
            from msgraph import GraphRequestAdapter, GraphServiceClient
            from msgraph_core import GraphClientFactory

            credential = self.credential
            if credential is None:
                from azure.identity import DefaultAzureCredential

                credential = DefaultAzureCredential()
            auth = AzureIdentityAuthenticationProvider(credential, scopes=[GRAPH_SCOPE])
            self._http = httpx.AsyncClient(verify=verify_arg(self.verify), timeout=self.timeout)
            http = GraphClientFactory.create_with_default_middleware(client=self._http)
            adapter = GraphRequestAdapter(auth, client=http)
            adapter.base_url = self.base_url
            self._client = GraphServiceClient(request_adapter=adapter)
        return self._client

    @staticmethod
    def _no_retry():
        from kiota_abstractions.base_request_configuration import RequestConfiguration
        from kiota_http.middleware.options import RetryHandlerOption

        return RequestConfiguration(options=[RetryHandlerOption(delay=0, max_retries=0, should_retry=False)])

    # -- sending ----------------------------------------------------------------------------

    def message(self, payload: dict):
        """Graph's request body for one outbox email (also used by the tests to check shape)."""
        from msgraph.generated.models.body_type import BodyType
        from msgraph.generated.models.email_address import EmailAddress
        from msgraph.generated.models.file_attachment import FileAttachment
        from msgraph.generated.models.importance import Importance
        from msgraph.generated.models.internet_message_header import InternetMessageHeader
        from msgraph.generated.models.item_body import ItemBody
        from msgraph.generated.models.message import Message
        from msgraph.generated.models.recipient import Recipient
        from msgraph.generated.users.item.send_mail.send_mail_post_request_body import SendMailPostRequestBody

        attachment = FileAttachment(
            odata_type="#microsoft.graph.fileAttachment",
            name=payload["text_name"],
            content_type="text/plain; charset=utf-8",
            content_bytes=payload["text"].encode("utf-8"),
        )
        message = Message(
            subject=payload["subject"],
            body=ItemBody(content_type=BodyType.Html, content=payload["html"]),
            to_recipients=[Recipient(email_address=EmailAddress(address=a)) for a in payload["to"]],
            internet_message_id=None if self.ids_refused else payload["internet_message_id"],
            internet_message_headers=[InternetMessageHeader(name=k, value=v) for k, v in payload.get("headers", {}).items()] or None,
            attachments=[attachment],
            # How urgent (notify/content.py): high when a person must act, low when nothing is asked.
            importance={"high": Importance.High, "low": Importance.Low}.get(payload.get("importance", ""), Importance.Normal),
        )
        return SendMailPostRequestBody(message=message, save_to_sent_items=True)

    def send(self, target: str, payload: dict, *, label: str = "") -> str:
        return self._run(self._send(payload))

    async def _send(self, payload: dict) -> str:
        try:
            await self._post(payload)
        except Exception as exc:
            error = self._error(exc, "sendMail")
            if not (isinstance(error, RejectedError) and error.status == 400 and "internetmessageid" in str(error).lower()):
                raise error from exc
            # A 400 was certainly not accepted, so sending again is safe. Without our id the
            # message still goes out; an uncertain answer can no longer be checked, so from
            # now on `confirm` says "cannot tell" and such a message is not sent twice.
            self.ids_refused = True
            try:
                await self._post(payload)
            except Exception as again:
                raise self._error(again, "sendMail") from again
            return "202 (without internetMessageId: Graph refused it)"
        return "202"

    async def _post(self, payload: dict) -> None:
        body = self.message(payload)
        await self._graph().users.by_user_id(self.sender).send_mail.post(body, request_configuration=self._no_retry())

    def _error(self, exc: Exception, what: str) -> Exception:
        import httpx
        from kiota_abstractions.api_error import APIError

        if isinstance(exc, APIError):
            status = exc.response_status_code or 0
            headers = {k.lower(): v for k, v in (exc.response_headers or {}).items()}
            retry_after = parse_retry_after(headers.get("retry-after"))
            text = f"Graph {what} answered {status}: {exc}"
            if status == 429:
                return ThrottledError(text, status=status, retry_after=retry_after)
            if status >= 500 or status == 408:
                return UncertainDeliveryError(text, status=status, retry_after=retry_after)
            return RejectedError(text, status=status)
        if isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)):
            return UnavailableError(f"Graph unreachable: {exc}")
        if isinstance(exc, httpx.HTTPError):
            return UncertainDeliveryError(f"Graph {what}: no answer ({type(exc).__name__}: {exc})")
        if isinstance(exc, (OSError, asyncio.TimeoutError)):
            return UncertainDeliveryError(f"Graph {what}: {type(exc).__name__}: {exc}")
        return UnavailableError(f"Graph {what} failed: {type(exc).__name__}: {exc}")

    # -- after an uncertain answer: did it go out? ------------------------------------------

    def confirm(self, target: str, payload: dict) -> bool | None:
        if not self.confirm_sent or self.ids_refused:
            return None
        return self._run(self._confirm(payload["internet_message_id"]))

    async def _confirm(self, internet_message_id: str) -> bool | None:
        from kiota_abstractions.api_error import APIError
        from kiota_abstractions.base_request_configuration import RequestConfiguration
        from msgraph.generated.users.item.mail_folders.item.messages.messages_request_builder import MessagesRequestBuilder

        quoted = internet_message_id.replace("'", "''")
        query = MessagesRequestBuilder.MessagesRequestBuilderGetQueryParameters(
            filter=f"internetMessageId eq '{quoted}'", select=["id", "internetMessageId"], top=1
        )
        config = RequestConfiguration(query_parameters=query, options=self._no_retry().options)
        try:
            result = await self._graph().users.by_user_id(self.sender).mail_folders.by_mail_folder_id("sentitems").messages.get(request_configuration=config)
        except APIError as exc:
            if exc.response_status_code in (401, 403):
                return None  # no Mail.ReadBasic: cannot tell
            raise self._error(exc, "Sent Items lookup") from exc
        except Exception as exc:
            raise self._error(exc, "Sent Items lookup") from exc
        return bool(result and result.value)

    def close(self) -> None:
        with self._lock:
            if self._loop is not None and not self._loop.is_closed():
                if self._http is not None:
                    try:
                        self._loop.run_until_complete(self._http.aclose())
                    except RuntimeError:  # closed from async code: the connections go with the loop
                        pass
                self._loop.close()
            self._loop = None
            self._client = None
            self._http = None
