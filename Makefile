# Verbatim: `make run` starts the whole site; `make test` runs every test.
VENV ?= .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test lint format bench system-deps clean

$(VENV)/.runtime: requirements.txt
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev: $(VENV)/.runtime requirements-dev.txt
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

## run: install, migrate and start the web server and workers (embedded mode)
run: $(VENV)/.runtime
	$(PY) manage.py migrate --noinput
	$(PY) manage.py serve --host $(HOST) --port $(PORT)

## system-deps: Debian packages the tests use (a browser and a speech synthesiser)
system-deps:
	@command -v chromium >/dev/null && command -v espeak-ng >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium espeak-ng; \
	  else echo "Install Debian's chromium and espeak-ng (sudo apt-get install chromium espeak-ng)"; exit 1; fi; }

## test: the whole suite, against the local Postgres and Redis
test: $(VENV)/.dev system-deps
	$(PY) -m pytest

lint: $(VENV)/.dev
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

format: $(VENV)/.dev
	$(PY) -m ruff format .
	$(PY) -m ruff check --fix .

## bench: the benchmarks in bench/, each printing ratios measured in one run
bench: $(VENV)/.dev
	$(PY) -m bench

clean:
	rm -rf $(VENV) data
