# The two commands a newcomer needs: `make run` and `make test`. Everything else is set up here.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)

.PHONY: run test demo init install lint format-check typecheck pytest system-deps clean webforms

# With no web user yet, the server prints a one-time set-up code: the web page asks for it to
# create the first administrator.
run: init
	@echo "Lần đầu (first run): mở trang web, nhập mã cài đặt mà máy chủ in bên dưới (enter the set-up code printed below)."
	$(BIN)/pcmd serve

# A demo province (Quảng Ngãi) with two years of records; PCMD_DEMO_PASSWORD=… adds web user demo.
demo: init
	$(BIN)/pcmd demo

init: install system-deps
	$(BIN)/pcmd init

install: $(STAMP) webforms

# ODK Web Forms (@getodk/web-forms), built from webforms/package-lock.json into the server's
# static files: pcmd serves them itself, no CDN. Rebuilt only when the lockfile or the entry
# changes (the built file is the stamp).
WEBFORMS_OUT := src/pcmd/server/static/webforms/pcmd-webforms.js
webforms: $(WEBFORMS_OUT)

$(WEBFORMS_OUT): webforms/package-lock.json webforms/package.json webforms/vite.config.js $(wildcard webforms/src/*.js)
	@command -v npm >/dev/null 2>&1 || tools/apt-install nodejs npm
	cd webforms && npm ci --no-audit --no-fund --loglevel=error && npm run build
	touch $@

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "pcmd needs Python 3.11 or newer"'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	rm -f $(VENV)/.installed-*
	touch $@

# ODK Validate (bundled with pyxform) runs on Java; the browser tests drive Debian's Chromium.
# Install what this machine lacks.
system-deps:
	@command -v java >/dev/null 2>&1 || tools/apt-install default-jre-headless
	@command -v chromium >/dev/null 2>&1 || tools/apt-install chromium fonts-dejavu-core

test: install system-deps lint typecheck pytest

lint:
	$(BIN)/ruff check src tests tools bench
	$(BIN)/ruff format --check src tests tools bench

typecheck:
	$(BIN)/mypy

# One pytest worker per core (pytest-xdist), each with its own PostgreSQL database, temporary
# folders and ports (tests/conftest.py); a test file stays on one worker, so its module
# fixtures are built once. PYTEST_WORKERS=0 runs everything in one process.
PYTEST_WORKERS ?= auto
pytest:
	$(BIN)/pytest -n $(PYTEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache webforms/node_modules src/pcmd/server/static/webforms
