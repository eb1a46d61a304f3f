"""The progress bar draws only on a terminal; importing the sweep costs no Azure SDK."""

from __future__ import annotations

import io
import subprocess
import sys

from sweep import ProgressBar, SweepStats
from tests.conftest import ROOT


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_bar_on_a_terminal_only():
    assert ProgressBar.for_stream(io.StringIO()) is None
    screen = Terminal()
    bar = ProgressBar.for_stream(screen)
    bar.interval = 0
    stats = SweepStats()
    stats.resources.update({"vm": 1500, "scale-set": 2, "scale-set-vm": 40})
    stats.read("vm-list", 1000)
    stats.read("vm-list", 500)
    stats.findings["SelfServiceWindowOpen"] += 3
    bar(stats)
    assert "1,540 machines, 2 scale sets, 2 pages, 2 reads, 3 findings" in screen.getvalue()
    bar.done()
    assert screen.getvalue().endswith("\r\033[K")  # the line is cleared for the summary


def test_progress_bar_draws_a_few_times_a_second_at_most():
    screen = Terminal()
    bar = ProgressBar(screen, interval=60)
    for _ in range(100):
        bar(SweepStats())
    assert screen.getvalue().count("\r") == 1


def test_importing_the_sweep_and_its_commands_loads_no_azure_sdk():
    probe = (
        "import sys, sweep, responder.sweep_command, responder.audit_command\n"
        "print(','.join(sorted(m for m in sys.modules if m.startswith(('azure.mgmt', 'azure.identity')))))\n"
    )
    run = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == ""
