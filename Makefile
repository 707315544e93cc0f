# swapnet's two commands (README.md):
#   make demo   set up, migrate, seed the demo corridor and serve it on one port
#   make test   set up and run the test suite
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: demo test setup lint

demo: setup
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py seed_demo
	$(BIN)/python manage.py serve --host $(HOST) --port $(PORT)

test: setup
	$(BIN)/pytest -n 2 $(PYTEST_ARGS)

lint: setup
	$(BIN)/ruff check .
	$(BIN)/mypy .

setup: $(VENV)/.installed

$(VENV)/.installed: requirements.txt requirements-dev.txt scripts/setup-browser
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11) and "swapnet needs Python 3.11 or newer")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt
	scripts/setup-browser
	touch $@
