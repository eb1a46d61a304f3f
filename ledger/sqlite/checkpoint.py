"""WAL checkpoints off the signal's path: a thread of the ledger's own copies the log back.

In WAL mode a commit appends pages to the `-wal` file; a checkpoint copies them into the
database file and, with `synchronous=NORMAL`, is the only step that waits for the disk (an
fsync of the log, then of the database). SQLite's automatic checkpoint runs inside whichever
commit crosses 1,000 pages: about one signal in seventy paid for both fsyncs, which made the
commit the largest part of deciding a signal (docs/performance.md). Here the ledger's
connection never checkpoints; after every `EVERY` commits it nudges a daemon thread that runs a
PASSIVE checkpoint on a connection of its own. A passive checkpoint never blocks a writer, and
the fsync happens with the GIL released, so the signal's commit is a write to the log only.

Nothing is less durable: a commit is in the log (the OS's page cache) before it returns, as
before, and what a checkpoint has not copied yet is read from the log and recovered from it on
the next open. If the thread cannot checkpoint, the log only grows; the next open, or the last
connection's close, checkpoints it.
"""

from __future__ import annotations

import logging
import sqlite3
import threading

# Commits between checkpoints: about the 1,000 pages of SQLite's own default at 13 pages a signal.
EVERY = 64

log = logging.getLogger("responder.ledger")


def connect(path: str) -> sqlite3.Connection:
    return sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=30)


class Checkpointer:
    def __init__(self, path: str, every: int = EVERY):
        self.path = path
        self.every = every
        self.checkpoints = 0  # completed, for tests and benchmarks
        self._commits = 0
        self._due = threading.Event()
        self._stopping = False
        self._thread: threading.Thread | None = None  # started at the first checkpoint due

    def committed(self) -> None:
        """Called after each commit on the ledger's connection (under the ledger's lock)."""
        self._commits += 1
        if self._commits >= self.every:
            self._commits = 0
            if self._thread is None:  # a ledger that commits a few times (a command) never needs one
                self._thread = threading.Thread(target=self._run, name="ledger-checkpoint", daemon=True)
                self._thread.start()
            self._due.set()

    def stop(self) -> None:
        if self._thread is None:
            return
        self._stopping = True
        self._due.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        try:
            db = connect(self.path)
        except sqlite3.Error as exc:
            log.warning("ledger checkpoints left to SQLite's next open: cannot connect to %s: %s", self.path, exc)
            return
        try:
            while True:
                self._due.wait()
                self._due.clear()
                if self._stopping:
                    return
                try:
                    db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                    self.checkpoints += 1
                except sqlite3.Error as exc:  # a busy or failing disk: the log grows until the next try
                    log.warning("ledger checkpoint failed (the log keeps the commits): %s", exc)
        finally:
            db.close()
