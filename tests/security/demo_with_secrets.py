"""Test-only: the demo with its secrets made recognisable, every log record of every logger at
DEBUG on stderr. Run as `python -m tests.security.demo_with_secrets STATE OUTBOX` from the project.

A process of its own, because the demo calls the Functions app's registration once more."""

from __future__ import annotations

import logging
import sys

GRAPH_TOKEN = "graph-bearer-9f8e7d6c5b4a39281706f5e4d3c2b1a0"
WEBHOOK_SIG = "wXh3kQ9zP2mN7vL4tR8yB1cF6gJ0dS5aE3uI9oK2lM"
DEMO_SECRET = "demo-approval-secret-Zq81kL0pW3nV7xC2bM5tY9rE"


class Everything(logging.Formatter):
    """The message and every extra field a record carries (what an exporter could ship)."""

    def format(self, record):
        extras = {k: v for k, v in vars(record).items() if k not in ("msg", "args", "exc_info", "exc_text", "stack_info")}
        return f"{super().format(record)} | {extras!r}"


def main(state: str, outbox: str) -> int:
    from pipeline.azure import LocalToken
    from responder import demo
    from simulator import teams

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(Everything("%(levelname)s %(name)s %(message)s"))
    logging.basicConfig(level=logging.DEBUG, handlers=[handler], force=True)
    url = teams.TeamsWebhooks.url
    teams.TeamsWebhooks.url = lambda self, name="ops": url(self, name).replace("sig=simulated", f"sig={WEBHOOK_SIG}")
    LocalToken.__init__.__defaults__ = (GRAPH_TOKEN, 3600)
    demo.secrets.token_urlsafe = lambda n=32: DEMO_SECRET
    return demo.run("auto", True, state=state, operation_delay=0.1, outbox=outbox)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
