# The two commands:  `make run` (service + demo on SQLite)  and  `make test` (the whole gate on Postgres).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/clone
HOST ?= 127.0.0.1
PORT ?= 8000
# Exact pins for the server's runtime + dev + plot extras, compiled from the ranges in pyproject.toml.
LOCK := requirements/lock.txt
PIP_COMPILE := CUSTOM_COMPILE_COMMAND="make lock" $(VENV)/bin/pip-compile --quiet --strip-extras \
	--no-emit-index-url --no-emit-find-links --extra dev --extra plot --output-file $(LOCK) pyproject.toml
# The command-line client's own lock (with its mcp and desktop extras), compiled the same way and
# constrained by the server's, so what both share is pinned alike and the CLI's tests, which run
# in the server's venv, run on exactly these pins.
CLI_LOCK := clients/cli/requirements.lock.txt
PIP_COMPILE_CLI := CUSTOM_COMPILE_COMMAND="make lock" $(VENV)/bin/pip-compile --quiet --strip-extras \
	--no-emit-index-url --no-emit-find-links --extra mcp --extra desktop --constraint $(LOCK) \
	--output-file $(CLI_LOCK) clients/cli/pyproject.toml

.PHONY: run test install install-dev lock lock-upgrade postgres redis services lint bench install-cli cli-system-deps claude-code
.PHONY: web web-generate chromium test-web web-screenshots

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

# Install exactly what the lock pins, then the project itself without resolving anything again.
# The stamp reinstalls only when the lock or pyproject.toml changed.
$(VENV)/.installed: $(LOCK) pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -r $(LOCK)
	$(PY) -m pip install --quiet --no-deps -e .
	@touch $@

install install-dev: $(VENV)/.installed

# After changing a range in pyproject.toml or clients/cli/pyproject.toml: `make lock` re-pins what
# the change needs (other pins stay) in both locks; `make lock-upgrade` moves every pin to the
# newest release the ranges allow.
# If a rebase conflicts in the lock, take either side and run `make lock` again.
lock: | $(PY)
	@test -x $(VENV)/bin/pip-compile || $(PY) -m pip install --quiet 'pip-tools>=7.4'
	$(PIP_COMPILE)
	$(PIP_COMPILE_CLI)

lock-upgrade: | $(PY)
	@test -x $(VENV)/bin/pip-compile || $(PY) -m pip install --quiet 'pip-tools>=7.4'
	$(PIP_COMPILE) --upgrade
	$(PIP_COMPILE_CLI) --upgrade

# The command-line client, installed from the repository as a user installs it: exactly what its
# lock pins (extras included), then the client itself without resolving anything again.
install-cli: $(PY)
	$(PY) -m pip install --quiet -r $(CLI_LOCK)
	$(PY) -m pip install --quiet --no-deps './clients/cli[mcp,desktop]'

# Programs the CLI's tests drive: Xvfb and xdotool (desktop recorder), zsh (shell recorder).
cli-system-deps:
	@command -v Xvfb >/dev/null && command -v xdotool >/dev/null && command -v zsh >/dev/null || \
	  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq xvfb xdotool zsh >/dev/null; } || \
	  echo "Could not install xvfb, xdotool, zsh: the CLI tests that need them are skipped" >&2

# The real Claude Code CLI for the end-to-end tests, pinned by tests/e2e/claude_code/package-lock.json
# and cached in .cache/claude-code (reinstalled only when the lock changes), and tmux for its
# interactive mode. Without the npm registry those tests are skipped, saying why.
CLAUDE_CODE_DIR := .cache/claude-code
claude-code:
	@command -v tmux >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq tmux >/dev/null; } || \
	  echo "Could not install tmux: the interactive Claude Code test is skipped" >&2
	@if cmp -s tests/e2e/claude_code/package-lock.json $(CLAUDE_CODE_DIR)/package-lock.json && [ -x $(CLAUDE_CODE_DIR)/node_modules/.bin/claude ]; then :; \
	  elif ! command -v npm >/dev/null; then echo "npm is missing: the Claude Code end-to-end tests are skipped" >&2; \
	  else mkdir -p $(CLAUDE_CODE_DIR) && cp tests/e2e/claude_code/package.json tests/e2e/claude_code/package-lock.json $(CLAUDE_CODE_DIR)/ && \
	    { (cd $(CLAUDE_CODE_DIR) && npm ci --no-audit --no-fund --loglevel=error) || \
	      { rm -rf $(CLAUDE_CODE_DIR)/node_modules $(CLAUDE_CODE_DIR)/package-lock.json; echo "Could not install Claude Code from the npm registry: its end-to-end tests are skipped" >&2; }; }; fi

postgres:
	@pg_isready -q -h 127.0.0.1 -p 5432 || pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql | head -n1) main start
	@for i in $$(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && exit 0; sleep 1; done; echo "Postgres did not start" >&2; exit 1

# Redis backs the shared throttle counters; the throttle tests skip (saying why) without it.
redis:
	@redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 || ! command -v redis-server >/dev/null || redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no >/dev/null
	@for i in $$(seq 1 10); do redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && exit 0; sleep 0.5; done; echo "Redis is not running; the Redis throttle test will be skipped" >&2

services: postgres redis

run: install web
	DJANGO_DEBUG=1 $(PY) manage.py migrate --noinput
	DJANGO_DEBUG=1 $(PY) manage.py load_demo --set-password --base-url http://$(HOST):$(PORT)
	@echo "Clone is serving on http://$(HOST):$(PORT)/  (API docs: http://$(HOST):$(PORT)/api/docs/)"
	DJANGO_DEBUG=1 $(PY) manage.py runserver $(HOST):$(PORT)

# mypy's django-stubs plugin loads the settings, which want a secret unless in debug.
lint: install-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	PYTHONPATH=clients/cli/src $(VENV)/bin/lint-imports
	DJANGO_DEBUG=1 $(VENV)/bin/mypy

# Coverage of the server's packages; under the floor (`fail_under` in pyproject.toml) the whole
# suite fails. A run narrowed with PYTEST_ARGS reports coverage without the floor.
COVERAGE_ARGS = --cov $(if $(PYTEST_ARGS),--cov-fail-under=0)

test: install-dev install-cli cli-system-deps claude-code services lint
	DATABASE_URL=$(TEST_DATABASE_URL) DJANGO_DEBUG=1 $(PY) manage.py check
	DATABASE_URL=$(TEST_DATABASE_URL) DJANGO_DEBUG=1 $(PY) manage.py makemigrations --check --dry-run
	DATABASE_URL=$(TEST_DATABASE_URL) DJANGO_SECRET_KEY=test-only-not-a-secret-for-the-test-suite $(VENV)/bin/pytest $(COVERAGE_ARGS) $(PYTEST_ARGS)
	cd clients/cli && CLONE_CLI_TEST_DATABASE_URL=$(TEST_DATABASE_URL) $(abspath $(VENV))/bin/pytest $(CLI_PYTEST_ARGS)
	$(MAKE) test-web

# --- The web app (web/): npm ci from the lock file, once per lock-file change -------------------
web/node_modules/.installed: web/package-lock.json
	cd web && npm ci --no-audit --no-fund
	touch $@

web: install web/node_modules/.installed
	cd web && npm run build

# The API types, schema/events.ts and the event validator, from their schemas; commit the result.
web-generate: install web/node_modules/.installed
	cd web && PYTHON=$(abspath $(PY)) npm run generate

# Debian's Chromium for the browser tests (Playwright cannot download its own here).
chromium:
	@command -v chromium >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq chromium)

# Generated files not stale, build, unit tests, then the browser tests against gunicorn on Postgres.
test-web: install-dev postgres chromium web/node_modules/.installed
	cd web && PYTHON=$(abspath $(PY)) npm run check-generated
	cd web && npm run build
	cd web && npx vitest run
	cd web && PYTHON=$(abspath $(PY)) TEST_DATABASE_URL=$(TEST_DATABASE_URL) npm run e2e

# The browser tests again, writing the README's screenshots to docs/screenshots/.
web-screenshots: install-dev postgres chromium web
	cd web && PYTHON=$(abspath $(PY)) TEST_DATABASE_URL=$(TEST_DATABASE_URL) E2E_SCREENSHOTS=docs/screenshots npm run e2e

bench: install-dev postgres
	$(PY) -m pip install --quiet -c $(LOCK) -e '.[bench]'
	DATABASE_URL=$(TEST_DATABASE_URL) $(PY) bench/run.py $(BENCH_ARGS)
