# Tessera: `make run` starts the marketplace with demo data, `make test` runs the whole suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000

.PHONY: viewer-bundle run test lint typecheck pytest chaos bench-ingest bench-copies bench-search bench-tagging bench-watermark bench-load bench-pages bench-events bench-image-search bench-insights clean-var

# The virtual environment is rebuilt whenever pyproject.toml changes.
$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $@

run: $(VENV)/.installed
	PORT=$(PORT) $(BIN)/python -m marketplace.devserver

lint: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

typecheck: $(VENV)/.installed
	$(BIN)/mypy .

pytest: $(VENV)/.installed
	$(BIN)/pytest $(PYTEST_ARGS)

test: lint typecheck pytest

# Kill -9 the worker, a pool child, Redis and PostgreSQL of a supervised stack under load; a few minutes.
chaos: $(VENV)/.installed
	PORT=$(PORT) $(BIN)/python bench/chaos.py

bench-ingest: $(VENV)/.installed
	$(BIN)/python bench/bench_ingest.py

bench-copies: $(VENV)/.installed
	$(BIN)/python bench/bench_copies.py

bench-search: $(VENV)/.installed
	$(BIN)/python bench/bench_search.py

bench-tagging: $(VENV)/.installed
	$(BIN)/python bench/bench_tagging.py

bench-watermark: $(VENV)/.installed
	$(BIN)/python bench/bench_watermark.py

# 150 locust users for at most 3 minutes against gunicorn with DEBUG off, on a stack of its own under var/bench.
bench-load: $(VENV)/.installed
	$(BIN)/python bench/bench_load.py

# Requests per second of home, search, a pattern page per family, a category and the API list against a bare
# Django view, anonymous and signed in, with their query counts; gunicorn 2 processes, wrk on loopback.
bench-pages: $(VENV)/.installed
	$(BIN)/python bench/bench_pages.py

# Domain events recorded per second in a service call and outbox drain throughput against bare INSERT/UPDATE
# floors, and the time a page view spends in tracking (Redis up and stopped); about 2 minutes.
bench-events: $(VENV)/.installed
	$(BIN)/python bench/bench_events.py

# Creator insights (issue 13): tracking per page request, the rollup worker's throughput, dashboard reads over
# 1,000,000 raw events; on a stack of its own under var/bench-insights.
bench-insights: $(VENV)/.installed
	$(BIN)/python bench/bench_insights.py

bench-image-search: $(VENV)/.installed
	$(BIN)/python bench/bench_image_search_memory.py --port $${BENCH_WEB_PORT:-8138}

clean-var:
	rm -rf var

# The 3D viewer's minified bundle (viewer code + the parts of three.js it uses), committed under
# marketplace/static/tessera/. Rebuild after changing marketplace/static_src/viewer/ or the three.js version there.
# Node tools are installed outside the repository, in NODE_TOOLS. Not part of `make test` or `make run`.
NODE_TOOLS ?= $(CURDIR)/var/node-tools
VIEWER_SRC := marketplace/static_src/viewer
viewer-bundle:
	mkdir -p $(NODE_TOOLS)
	cp $(VIEWER_SRC)/package.json $(NODE_TOOLS)/package.json
	npm --prefix $(NODE_TOOLS) install --no-audit --no-fund
	NODE_PATH=$(NODE_TOOLS)/node_modules $(NODE_TOOLS)/node_modules/.bin/esbuild $(VIEWER_SRC)/viewer.js \
		--bundle --format=esm --minify --target=es2020 --legal-comments=eof \
		--outfile=marketplace/static/tessera/viewer.bundle.js
	cp $(NODE_TOOLS)/node_modules/three/LICENSE marketplace/static/tessera/viewer.bundle.LICENSE.txt
