# The two commands a newcomer needs: `make run` and `make test`. Each sets up .venv on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint bench browser clean lock

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml requirements.lock
	$(BIN)/pip install --quiet -c requirements.lock -e '.[dev]'
	touch $(STAMP)

# The demo world: SQLite under var/, generated keys and credentials, served by gunicorn on :8000,
# with `hub simulate` driving the API in the background (one line per simulated day; the hub logs
# warnings only, unless HUB_LOG_LEVEL says otherwise). HUB_SIMULATE=0 runs the hub alone, as it
# always did. The simulator waits for the server to answer, and the trap stops it when the
# server ends (Ctrl-C reaches both).
run: $(STAMP)
	HUB_ENV=$${HUB_ENV:-demo} $(BIN)/hub db upgrade
	HUB_ENV=$${HUB_ENV:-demo} $(BIN)/hub demo
	@if [ "$${HUB_SIMULATE:-1}" = 0 ]; then \
	  echo "HUB_ENV=$${HUB_ENV:-demo} $(BIN)/hub serve"; \
	  exec env HUB_ENV=$${HUB_ENV:-demo} $(BIN)/hub serve; \
	fi; \
	echo "HUB_ENV=$${HUB_ENV:-demo} $(BIN)/hub simulate & HUB_ENV=$${HUB_ENV:-demo} $(BIN)/hub serve"; \
	HUB_ENV=$${HUB_ENV:-demo} $(BIN)/hub simulate & simulator=$$!; \
	trap 'kill $$simulator 2>/dev/null; wait $$simulator' EXIT; \
	trap 'exit 130' INT; trap 'exit 143' TERM; \
	HUB_ENV=$${HUB_ENV:-demo} HUB_LOG_LEVEL=$${HUB_LOG_LEVEL:-WARNING} $(BIN)/hub serve

# Every test: unit, integration (SQLite always; PostgreSQL/Redis where HUB_TEST_*_URL point at them),
# end to end (a real gunicorn process) and the browser test (Debian's chromium, installed if missing).
test: $(STAMP) browser
	$(BIN)/hub policy test
	$(BIN)/python -m pytest $(PYTEST_ARGS)

browser:
	@scripts/ensure-chromium

lint: $(STAMP)
	$(BIN)/ruff check hub adapters policies audit tests bench
	$(BIN)/ruff format --check hub adapters policies audit tests bench
	$(BIN)/mypy hub adapters policies audit

bench: $(STAMP)
	$(BIN)/python bench/messages.py
	$(BIN)/python bench/adapters.py
	$(BIN)/python bench/policy.py
	$(BIN)/python bench/audit.py
	$(BIN)/python bench/alerts.py

# Re-lock every transitive version after changing pyproject.toml.
lock: $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'
	$(BIN)/pip freeze --exclude-editable | grep -v '^-e' > requirements.lock

clean:
	rm -rf $(VENV) var .pytest_cache
