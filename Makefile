# Curio's entry points. `make demo` and `make test` install everything they need first; every
# install step is idempotent (a second run skips what the first finished).
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
CURIO := node dist/cli/main.js

.PHONY: help typecheck lint install install-system install-temporal install-mlflow install-node build \
        services-up services-down services-status workers-up workers-down demo serve test bench clean

help:
	@echo "make demo             install, start Temporal + MLflow + workers, run the main job"
	@echo "make serve            after make demo: the recall API on the champion, http://127.0.0.1:8700"
	@echo "make test             install and run the whole test suite"
	@echo "make services-up      start the Temporal dev server (UI :8233) and MLflow (UI :5000)"
	@echo "make services-down    stop workers and services"
	@echo "make services-status  show what runs, on which port, and where it logs"
	@echo "make bench            print the benchmarks' figures (npm run bench:data, ...)"

install: install-system install-temporal install-mlflow install-node build

install-system:
	@scripts/install/apt.sh

install-temporal:
	@scripts/install/temporal-cli.sh

install-mlflow:
	@scripts/install/mlflow.sh

install-node:
	@scripts/install/node-deps.sh

build:
	@npx --no-install tsc -p tsconfig.build.json

typecheck:
	@npx --no-install tsc -p tsconfig.json --noEmit

lint:
	@npx --no-install eslint .

services-up: install
	@$(CURIO) services up

services-down:
	@if [ -f dist/cli/main.js ]; then $(CURIO) services down; else echo "nothing built, nothing running"; fi

services-status:
	@$(CURIO) services status

workers-up: services-up
	@$(CURIO) workers restart

workers-down:
	@$(CURIO) workers down

demo: workers-up
	@$(CURIO) demo

# The demo's marketplace is synthetic and lies in the past, so the service answers at its last
# logged moment (--clock data-end); SERVE_ARGS adds options (e.g. SERVE_ARGS="--token s3cret").
SERVE_ARGS ?=
serve: services-up
	@$(CURIO) serve --clock data-end $(SERVE_ARGS)

test: install typecheck lint
	@npx --no-install jest --runInBand

bench: install
	@npm run --silent bench:data
	@npm run --silent bench:models
	@npm run --silent bench:retrieval
	@npm run --silent bench:pipeline

clean:
	rm -rf dist
