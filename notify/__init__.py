"""Notifications: what Azure said, what the app decided and did, and what is left for a person,
in Teams (Workflows webhook, Adaptive Card 1.5) and by email (Graph sendMail), grouped per
incident, folded into digests in a storm, and sent through an outbox with retries and limits.

    from notify import Notice, Notifier
    notifier = Notifier.from_settings(settings.notify, SqliteOutbox(db_path), clock)  # pipeline.Settings
    notifier.submit(notice)   # never raises
    notifier.flush(now)       # sends what is due

Importing this package is cheap: the HTTP and Graph SDKs are imported when first used.
"""

from .errors import NoticesNotRecordedError, NotifyConfigError, NotifyError
from .notice import EVENTS, Notice
from .notifier import FlushSummary, Notifier, Submitted, SystemClock
from .retry import Backoff
from .routes import owner_emails

__all__ = [
    "EVENTS",
    "Backoff",
    "FlushSummary",
    "Notice",
    "NoticesNotRecordedError",
    "Notifier",
    "NotifyConfigError",
    "NotifyError",
    "Submitted",
    "SystemClock",
    "owner_emails",
]
