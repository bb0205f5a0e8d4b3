# The project's commands. `make test` is the one the README and CI use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
EXTRAS := fastapi,flask,test,dev
PYTEST_ARGS ?=

.PHONY: install test lint typecheck format run-fastapi run-flask db-upgrade db-seed lock clean

# A venv with the project (editable) and every extra, installed from the pins in constraints.txt.
install: $(VENV)/.installed
$(VENV)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --constraint constraints.txt --editable ".[$(EXTRAS)]"
	touch $@

# Unit tests, then the contract suite against every app (--stack auto: see contract_tests/README.md).
test: install
	$(BIN)/pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install
	$(BIN)/mypy

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# Against the database in DATABASE_URL (see README.md).
db-upgrade: install
	$(BIN)/python -m shared.db upgrade

db-seed: install
	$(BIN)/python -m shared.db seed

run-fastapi: install
	$(BIN)/uvicorn fastapi_shop.main:app --reload --no-access-log

run-flask: install
	$(BIN)/gunicorn -c flask_shop/gunicorn.conf.py --bind 127.0.0.1:8001 --reload "flask_shop:create_app()"

# Re-resolve every dependency to its newest allowed version and rewrite the pins.
lock:
	rm -rf .lock-venv
	$(PYTHON) -m venv .lock-venv
	.lock-venv/bin/pip install --quiet ".[$(EXTRAS)]"
	{ echo "# Pins for every extra of the project; regenerate with 'make lock'."; \
	  .lock-venv/bin/pip freeze --exclude shop; } > constraints.txt
	rm -rf .lock-venv

clean:
	rm -rf $(VENV) .lock-venv .mypy_cache .ruff_cache .pytest_cache
