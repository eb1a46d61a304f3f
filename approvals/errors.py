"""Every error approvals raise, drawn once.

    ApprovalError                    base
    ├── ApprovalConfigError          no usable secret, public URL or ttl: approve mode cannot run
    │                                (also a pipeline.SettingsError: hosts report it as a bad setting)
    ├── ApprovalNotFoundError        no approval with this id in the ledger              (404)
    ├── SignInRefusedError           sign-in headers the app cannot trust or read        (403)
    ├── NotAnApproverError           signed in, but not among the approvers             (403)
    └── TokenRefusedError            a link that cannot decide anything; `status` is the HTTP answer
        ├── MalformedTokenError      not a token this app makes (garbage, empty, cut)    (400)
        ├── ForgedTokenError         the signature does not match: tampered or signed with another secret (403)
        └── GoneTokenError           signed by us but no longer usable                   (410)
            ├── ExpiredTokenError    past its expiry
            └── AlreadyDecidedError  the approval was already decided (a second click, a second worker)

Messages say what is wrong for a person and never carry a token or the secret.
"""

from pipeline.errors import SettingsError


class ApprovalError(Exception):
    """Base of the approvals' errors."""


class ApprovalConfigError(ApprovalError, SettingsError):
    """RESPONDER_APPROVAL_SECRET, RESPONDER_PUBLIC_URL or the policy's `approvals` section cannot be used."""


class ApprovalNotFoundError(ApprovalError):
    """No approval with this id (a wiped ledger, another deployment's link, a mistyped id)."""

    status = 404


class SignInRefusedError(ApprovalError):
    """Sign-in headers where the deployment has no sign-in (a caller wrote them), or unreadable ones."""

    status = 403


class NotAnApproverError(ApprovalError):
    """A signed-in person outside the approvers; `approvers` says who may decide."""

    status = 403

    def __init__(self, message: str, approvers=None):
        super().__init__(message)
        self.approvers = approvers


class TokenRefusedError(ApprovalError):
    """A link that decides nothing. `status` is the HTTP status the route answers with."""

    status = 400


class MalformedTokenError(TokenRefusedError):
    """Not shaped like an approval token: empty, cut short, or not base64url."""

    status = 400


class ForgedTokenError(TokenRefusedError):
    """The signature does not match the payload: changed on the way, or signed with another secret."""

    status = 403


class GoneTokenError(TokenRefusedError):
    """A genuine link that can no longer be used."""

    status = 410


class ExpiredTokenError(GoneTokenError):
    """The approval's time is up; nothing was done."""


class AlreadyDecidedError(GoneTokenError):
    """Somebody (or something) decided first; links are single-use."""
