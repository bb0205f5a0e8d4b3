# The project's commands. `make test` is the one the README and CI use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
EXTRAS := fastapi,flask,otel,test,bench,dev,k8s
CHECKOV_VENV := .venv-checkov
PYTEST_ARGS ?=
comma := ,

.PHONY: install test fuzz chaos lint typecheck format docs run-fastapi run-flask db-upgrade db-seed lock clean \
	k8s-check k8s-demo k8s-down vendor-docs-ui up down logs smoke test-compose bench

# A venv with the project (editable) and every extra, installed from the pins in constraints.txt.
install: $(VENV)/.installed
$(VENV)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --constraint constraints.txt --editable ".[$(EXTRAS)]"
	touch $@

# Unit tests, then the contract suite against every app (--stack auto: see contract_tests/README.md).
test: install
	$(BIN)/pytest $(PYTEST_ARGS)

# schemathesis against both apps on the local stack, as a customer and as the admin (fuzz/run.py);
# SEED=<n> explores other requests than the fixed ones. Reports: fuzz-report/.
fuzz: install
	$(BIN)/python -m fuzz.run $(if $(SEED),--seed $(SEED))

# Faults (PostgreSQL restarted, stopped, frozen; a row lock; a killed worker; slow clients) under a bounded order
# load on the local stack, Flask behind nginx, then SQL checks (chaos/run.py); CHAOS_ARGS="--app flask --fault
# freeze" narrows it.
chaos: install
	$(BIN)/python -m chaos.run $(CHAOS_ARGS)

# Each app under the same load on one database, scenario by scenario (bench/run.py; needs wrk: apt-get install
# wrk). Results: bench/results/. BENCH_SMOKE=1 is CI's short run, which checks and does not measure;
# BENCH_ARGS="--app flask --scenario order" narrows it.
bench: install
	$(BIN)/python -m bench.run $(if $(BENCH_SMOKE),--smoke) $(BENCH_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install
	$(BIN)/mypy

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# docs/side-by-side.md, regenerated from the code it quotes (tests/test_side_by_side.py fails while it is stale).
docs: install
	$(BIN)/python docs/side_by_side.py

# Against the database in DATABASE_URL (see README.md).
db-upgrade: install
	$(BIN)/python -m shared.db upgrade

db-seed: install
	$(BIN)/python -m shared.db seed

# the apps refuse to start without SHOP_SESSION_SECRET (the back office's cookies): a development value here
run-fastapi run-flask: export SHOP_SESSION_SECRET ?= make-run-dev-session-secret-not-for-production

run-fastapi: install
	$(BIN)/uvicorn --factory fastapi_shop.main:create_app --http fastapi_shop.server:HttpToolsProtocol \
	  --ws fastapi_shop.server:WebSocketProtocol --reload --no-access-log

run-flask: install
	$(BIN)/gunicorn -c flask_shop/gunicorn.conf.py --bind 127.0.0.1:8001 --reload "flask_shop:create_app()"

# docker compose as people use it day to day: `make up` builds, starts everything and waits until each service
# is healthy (docker-compose.override.yml's development loop included: `docker compose watch` then syncs your edits),
# `make logs` follows the logs, `make down` stops it all (the database's volume stays).
COMPOSE ?= docker compose
up:
	$(COMPOSE) up --detach --build --wait

down:
	$(COMPOSE) down

logs:
	$(COMPOSE) logs --follow

# The contract suite against `make up` (--stack url), told what compose publishes: contract_tests/README.md,
# "Testing docker compose". Compose's defaults; give the target what you changed in .env, by the same names.
FASTAPI_PORT ?= 8000
FLASK_PORT ?= 8001
POSTGRES_PORT ?= 5432
POSTGRES_USER ?= shop
POSTGRES_PASSWORD ?= shop-dev-password
POSTGRES_DB ?= shop
SHOP_ADMIN_EMAIL ?= admin@shop.example
SHOP_ADMIN_PASSWORD ?= admin-dev-password
CORS_ORIGINS ?= http://localhost:3000
test-compose: install
	SHOP_ADMIN_EMAIL='$(SHOP_ADMIN_EMAIL)' SHOP_ADMIN_PASSWORD='$(SHOP_ADMIN_PASSWORD)' SHOP_TEST_PROXIED=flask \
	SHOP_TEST_DATABASE_URL='postgresql://$(POSTGRES_USER):$(POSTGRES_PASSWORD)@127.0.0.1:$(POSTGRES_PORT)/$(POSTGRES_DB)' \
	SHOP_TEST_CORS_ORIGIN='$(firstword $(subst $(comma), ,$(CORS_ORIGINS)))' \
	  $(BIN)/pytest contract_tests --stack url --fastapi-url http://127.0.0.1:$(FASTAPI_PORT) \
	  --flask-url http://127.0.0.1:$(FLASK_PORT) $(PYTEST_ARGS)

# The images as built (docker-compose.yml alone, no development override) in a compose project of their own, on
# ports of their own and a new database: up, the README's walk-through against both apps
# (contract_tests/test_walkthrough.py), then down with the volume. A running `make up` is left alone.
SMOKE_COMPOSE := $(COMPOSE) --file docker-compose.yml --project-name shop-smoke
SMOKE_ENV := FASTAPI_PORT=18000 FLASK_PORT=18001 SHOP_ADMIN_EMAIL=admin@shop.example SHOP_ADMIN_PASSWORD=smoke-admin-password
smoke: install
	$(SMOKE_ENV) $(SMOKE_COMPOSE) up --detach --build --wait \
	  || { $(SMOKE_COMPOSE) logs; $(SMOKE_COMPOSE) down --volumes; exit 1; }
	$(SMOKE_ENV) $(BIN)/pytest contract_tests/test_walkthrough.py -p no:cacheprovider --stack url \
	  --fastapi-url http://127.0.0.1:18000 --flask-url http://127.0.0.1:18001; \
	  status=$$?; $(SMOKE_COMPOSE) down --volumes; exit $$status

# Offline checks of k8s/: render every overlay, validate against the Kubernetes schemas, checkov, and the
# tests in k8s/test_manifests.py. Needs kubectl (it carries kustomize).
k8s-check: install $(CHECKOV_VENV)/.installed
	$(BIN)/pytest k8s -p no:cacheprovider $(PYTEST_ARGS)

# checkov in a venv of its own: its pinned dependencies conflict with the project's
$(CHECKOV_VENV)/.installed: k8s/checkov-constraints.txt
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install --quiet --constraint k8s/checkov-constraints.txt checkov
	touch $@

# The Kubernetes demo on kind (needs Docker, kind and kubectl): see k8s/README.md
k8s-demo: install
	k8s/demo.sh up

k8s-down:
	k8s/demo.sh down

# Re-resolve every dependency to its newest allowed version and rewrite the pins.
lock:
	rm -rf .lock-venv
	$(PYTHON) -m venv .lock-venv
	.lock-venv/bin/pip install --quiet ".[$(EXTRAS)]"
	{ echo "# Pins for every extra of the project; regenerate with 'make lock'."; \
	  .lock-venv/bin/pip freeze --exclude shop; } > constraints.txt
	rm -rf .lock-venv
	$(PYTHON) -m venv .lock-venv
	.lock-venv/bin/pip install --quiet checkov
	{ echo "# Pins for checkov, which make k8s-check installs in its own venv ($(CHECKOV_VENV)): its dependencies"; \
	  echo "# conflict with the project's (packaging). Regenerate with 'make lock'."; \
	  .lock-venv/bin/pip freeze; } > k8s/checkov-constraints.txt
	rm -rf .lock-venv

# Swagger UI and ReDoc for /docs and /redoc, copied from their npm releases into shared/http/static/ (needs npm).
# The apps serve these files themselves, so the docs work with no internet: see shared/http/static/README.md.
SWAGGER_UI_VERSION := 5.35.0
REDOC_VERSION := 2.5.4
vendor-docs-ui:
	rm -rf .vendor-docs-ui shared/http/static/swagger-ui shared/http/static/redoc
	mkdir -p .vendor-docs-ui/swagger-ui .vendor-docs-ui/redoc shared/http/static/swagger-ui shared/http/static/redoc
	cd .vendor-docs-ui && npm pack --silent swagger-ui-dist@$(SWAGGER_UI_VERSION) redoc@$(REDOC_VERSION) >/dev/null
	tar -xzf .vendor-docs-ui/swagger-ui-dist-$(SWAGGER_UI_VERSION).tgz -C .vendor-docs-ui/swagger-ui
	tar -xzf .vendor-docs-ui/redoc-$(REDOC_VERSION).tgz -C .vendor-docs-ui/redoc
	cd .vendor-docs-ui/swagger-ui/package && cp LICENSE NOTICE package.json favicon-32x32.png swagger-ui.css \
	  swagger-ui-bundle.js swagger-ui-bundle.js.LICENSE.txt swagger-ui-standalone-preset.js \
	  swagger-ui-standalone-preset.js.LICENSE.txt ../../../shared/http/static/swagger-ui/
	cd .vendor-docs-ui/redoc/package && cp LICENSE package.json bundles/redoc.standalone.js \
	  bundles/redoc.standalone.js.LICENSE.txt ../../../shared/http/static/redoc/
	rm -rf .vendor-docs-ui

clean:
	rm -rf $(VENV) $(CHECKOV_VENV) .lock-venv .mypy_cache .ruff_cache .pytest_cache .hypothesis fuzz-report
