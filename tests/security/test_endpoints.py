"""The endpoints: keys on the delivery routes, signed single-use approval links, and no secret in
any log record or ledger row of a demo-like run."""

from __future__ import annotations

import ast
import sqlite3
from datetime import UTC, timedelta
from pathlib import Path

import azure.functions as func
import pytest

from intake.deliveries import parse_delivery
from tests import builders as b
from tests.conftest import DEMO_SUBSCRIPTION, ROOT, Clock, accepted_writes

from .demo_with_secrets import DEMO_SECRET, GRAPH_TOKEN, WEBHOOK_SIG

SECRET = "endpoint-tests-approval-secret-0123456789"
DEGRADED_VM = b.vm_id("vm-degraded-hw", rg="rg-demo", sub=DEMO_SUBSCRIPTION)


def test_the_delivery_routes_need_a_function_key_and_approvals_are_anonymous(functions):
    def level(name):
        return str(functions[name].get_trigger().auth_level).upper().split(".")[-1]
    assert (level("alerts"), level("events")) == ("FUNCTION", "FUNCTION")
    assert level("approvals") == "ANONYMOUS"  # by design: the signed token is the credential
    http = {name for name, fn in functions.items() if fn.get_trigger().type == "httpTrigger"}
    assert http == {"alerts", "events", "approvals"}, "a new HTTP route must be added to this test with its auth level"


# -- approval links ------------------------------------------------------------------------------

@pytest.fixture
def waiting(acting):
    """A redeploy waiting for a person, on a clock the test moves, behind the real route."""
    from datetime import datetime

    from approvals import approvals_of
    from handlers import runtime

    clock = Clock(datetime.now(UTC))
    pipeline = acting("approve", clock=clock, approval_secret=SECRET)
    (outcome,) = pipeline.process(parse_delivery(b.body(b.annotated(target=DEGRADED_VM)), "test"))
    assert outcome.status == "awaiting-approval"
    service = approvals_of(pipeline)
    (pending,) = [service.pending_of(r) for r in service.pending()]
    runtime.use(pipeline)
    yield pipeline, pending, clock
    runtime.use(None)


def visit(functions, method: str, url: str, choice: str = "approve") -> func.HttpResponse:
    token = url.rsplit("/", 1)[-1]
    body = f"confirm={choice}".encode() if method == "POST" else b""
    req = func.HttpRequest(method, url, headers={"content-type": "application/x-www-form-urlencoded"}, body=body, route_params={"token": token})
    return functions["approvals"].get_user_function()(req)


def tampered(token: str) -> list[str]:
    """The token with each character changed in turn, cut short, lengthened, and its halves swapped."""
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    out = []
    for index, char in enumerate(token):
        if char != ".":
            out.append(token[:index] + alphabet[(alphabet.index(char) + 1) % len(alphabet)] + token[index + 1:])
    payload, mac = token.split(".")
    out += [token[:-1], token[:-5], token + "A", f"{mac}.{payload}", payload, f"{payload}.", "." + mac, token.replace(".", ".."), token + "." + mac]
    return out


def same_bytes(one: str, other: str) -> bool:
    from approvals.tokens import _unb64

    try:
        return [_unb64(part) for part in one.split(".")] == [_unb64(part) for part in other.split(".")]
    except ValueError:
        return False


def test_a_tampered_link_is_refused_and_acts_on_nothing(functions, waiting, sim):
    pipeline, pending, _ = waiting
    token = pending.approve_url.rsplit("/", 1)[-1]
    base = pending.approve_url[: -len(token)]
    for bad in tampered(token):
        if same_bytes(bad, token):
            continue  # base64's spare low bits: another spelling of the very same signed bytes
        response = visit(functions, "POST", base + bad)
        assert response.status_code in (400, 403, 404), (bad, response.status_code)
        assert token not in response.get_body().decode() and SECRET not in response.get_body().decode()
    assert pipeline.ledger.approval(pending.id)["state"] == "pending"
    assert not accepted_writes(sim)


def test_a_link_signed_with_another_secret_is_forged(functions, waiting, sim):
    from approvals.tokens import Signer

    pipeline, pending, clock = waiting
    token = Signer("another-deployment-secret-0123456789abcdef").sign(pending.id, "approve", clock.now + timedelta(hours=1))
    response = visit(functions, "POST", pending.approve_url.rsplit("/", 1)[0] + "/" + token)
    assert response.status_code == 403
    assert pipeline.ledger.approval(pending.id)["state"] == "pending"  # read after the visit
    assert not accepted_writes(sim)


def test_an_expired_link_is_refused(functions, waiting, sim):
    pipeline, pending, clock = waiting
    clock.advance(days=30)
    response = visit(functions, "POST", pending.approve_url)
    assert response.status_code == 410
    assert not accepted_writes(sim)


def test_a_used_link_cannot_be_used_again_nor_its_twin(functions, waiting, sim):
    pipeline, pending, _ = waiting
    assert visit(functions, "POST", pending.approve_url).status_code == 200
    assert visit(functions, "POST", pending.approve_url).status_code == 410
    assert visit(functions, "POST", pending.reject_url, "reject").status_code == 410
    assert len(accepted_writes(sim)) == 1


def test_a_bare_post_without_the_page_confirmation_decides_nothing(functions, waiting, sim):
    pipeline, pending, _ = waiting
    response = visit(functions, "POST", pending.approve_url, choice="reject")  # the confirmation names the other choice
    assert response.status_code == 400 and pipeline.ledger.approval(pending.id)["state"] == "pending"
    assert not accepted_writes(sim)


def _comparisons_of_secrets(path: Path) -> list[str]:
    """`==`/`!=` comparisons whose operands name a mac, signature, digest or token."""
    import re

    suspicious = re.compile(r"(^|_)(mac|sig|signature|digest|token|secret|key)(_|$)")
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Compare) and any(isinstance(op, (ast.Eq, ast.NotEq)) for op in node.ops):
            if any(isinstance(o, ast.Call) and getattr(o.func, "id", "") == "len" for o in (node.left, *node.comparators)):
                continue  # a length is public
            names = [n.id.lower() for operand in (node.left, *node.comparators) for n in ast.walk(operand) if isinstance(n, ast.Name)]
            names += [n.attr.lower() for operand in (node.left, *node.comparators) for n in ast.walk(operand) if isinstance(n, ast.Attribute)]
            if any(suspicious.search(name) for name in names):
                found.append(f"{path.name}:{node.lineno}: {ast.unparse(node)}")
    return found


def test_signatures_are_compared_in_constant_time():
    source = (ROOT / "approvals" / "tokens.py").read_text()
    assert "hmac.compare_digest(mac, self._mac(payload))" in source
    offenders = [hit for path in sorted((ROOT / "approvals").glob("*.py")) + [ROOT / "handlers" / "approvals.py"]
                 for hit in _comparisons_of_secrets(path)]
    assert not offenders, offenders


# -- no secret in logs or the ledger ---------------------------------------------------------



@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    """The demo with recognisable secrets, in its own process; every log record at every level."""
    import subprocess
    import sys

    folder = tmp_path_factory.mktemp("demo")
    state = folder / "ledger.sqlite"
    run = subprocess.run([sys.executable, "-m", "tests.security.demo_with_secrets", str(state), str(folder / "outbox")],
                         cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-3000:]
    return run.stderr.splitlines(), state, run.stdout


def approval_tokens(state: Path) -> list[str]:
    from datetime import datetime

    from approvals.tokens import Signer

    db = sqlite3.connect(state)
    db.row_factory = sqlite3.Row
    signer, tokens = Signer(DEMO_SECRET), []
    for row in db.execute("SELECT * FROM approvals"):
        expires = datetime.fromisoformat(row["expires_at"])
        tokens += [signer.sign(row["id"], choice, expires) for choice in ("approve", "reject")]
    return tokens


def secrets_of(state: Path) -> list[str]:
    return [GRAPH_TOKEN, WEBHOOK_SIG, DEMO_SECRET, *approval_tokens(state)]


def test_the_demo_run_made_approval_links_to_look_for(demo_run):
    _, state, _ = demo_run
    assert approval_tokens(state), "the demo approves at least once: its links are what is looked for"


def test_no_secret_in_any_log_record_of_the_app(demo_run):
    """Every record but httpx's request lines (the defect below): no token, no secret, no webhook signature."""
    records, state, _ = demo_run
    assert len(records) > 20
    for line in records:
        secrets = secrets_of(state) if not line.startswith("INFO httpx HTTP Request:") else [s for s in secrets_of(state) if s != WEBHOOK_SIG]
        for secret in secrets:
            assert secret not in line, line[:300]


def test_no_webhook_signature_in_any_log_record(demo_run):
    records, _, _ = demo_run
    assert not [line for line in records if WEBHOOK_SIG in line]


def ledger_rows(state: Path):
    db = sqlite3.connect(state)
    tables = [name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    assert {"signals", "decisions", "operations", "outbox_messages"} <= set(tables)
    for table in tables:
        for row in db.execute(f"SELECT * FROM {table}"):  # nosec B608 - table names from sqlite_master
            yield table, " ".join(map(str, row))


def test_no_secret_in_any_ledger_row(demo_run):
    """Every table, every row, the outbox's included."""
    _, state, _ = demo_run
    rows = 0
    for table, text in ledger_rows(state):
        rows += 1
        for secret in secrets_of(state):
            assert secret not in text, f"{table}: {text[:200]}"
    assert rows > 20


def test_no_approval_token_in_the_outbox(demo_run):
    """The outbox keeps each approval's id; the signed links exist only in what was sent."""
    _, state, _ = demo_run
    tokens = approval_tokens(state)
    assert not [table for table, text in ledger_rows(state) if any(token in text for token in tokens)]


def test_no_secret_in_what_the_demo_prints(demo_run):
    _, state, printed = demo_run
    for secret in secrets_of(state):
        assert secret not in printed
