# The two commands a new user runs: `make demo` and `make test`. Each installs what it needs.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test test-long mutants bench bench-quick messages clean

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt -r requirements-dev.txt
	touch $(STAMP)

demo: $(STAMP)
	$(PY) -m responder demo

# Lint (ruff) and types (mypy: pyproject.toml says which packages, strict on rules/ and pipeline/)
# come first: a finding of either fails the run.
# pytest exits 5 when it collected no tests: that is a failure here, not a pass.
# The infrastructure checks (checkov, pycep) live in their own virtualenv, .venv-tools;
# Azurite (the local Table Storage the ledger tests start) comes from npm, pinned in package-lock.json.
test: $(STAMP)
	sh scripts/install-tools.sh
	sh scripts/install-azurite.sh
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy
	$(PY) -m pytest -q -p no:cacheprovider; rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests" >&2; exit 1; fi; exit $$rc

# The nightly-size run: the property tests draw fresh examples, ten times as many (tests/properties.py).
test-long: $(STAMP)
	sh scripts/install-tools.sh
	sh scripts/install-azurite.sh
	RESPONDER_HYPOTHESIS_PROFILE=long $(PY) -m pytest -q -p no:cacheprovider

# Mutation testing of the modules that guard writes, each against the tests that cover it
# (scripts/mutants.py; docs/mutation-testing.md has the score and every surviving mutant).
# Slow and CPU-heavy: not part of `make test`. MODULE=approvals/tokens.py runs one module.
mutants: $(STAMP)
	$(PY) scripts/mutants.py $(MODULE)

# Benchmarks print figures (ratios against a baseline measured in the same run); not part of test.
bench: $(STAMP)
	sh scripts/install-azurite.sh
	$(PY) -m bench

bench-quick: $(STAMP)
	sh scripts/install-azurite.sh
	$(PY) -m bench --quick

# Each scenario's Teams card (.card.json) and email (.email.html, .email.txt) as people receive them,
# for a person to open and read (tests/notify/scenarios.py; the tests assert what each says).
messages: $(STAMP)
	$(PY) -m tests.notify.scenarios messages

clean:
	rm -rf $(VENV) .venv-tools node_modules .pytest_cache outbox messages
