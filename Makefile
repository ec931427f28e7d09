# Siphon: everyday commands. `make` alone lists them.
# Docker targets use docker compose (docker-compose.yml); the others run npm in this checkout.

COMPOSE ?= docker compose

.PHONY: help env up down migrate-db logs test bench start lint build

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{ printf "  %-11s %s\n", $$1, $$2 }'

env: ## write .env with random secrets for docker compose (refuses to overwrite one)
	@if [ -e .env ]; then echo ".env exists; not touching it" >&2; exit 1; fi
	@umask 077 && for name in SIPHON_ADMIN_TOKEN SIPHON_VIEWER_TOKEN \
	  SIPHON_READER_PASSWORD SIPHON_WRITER_PASSWORD SIPHON_API_PASSWORD; do \
	  echo "$$name=$$(node -e 'console.log(require("node:crypto").randomBytes(24).toString("base64url"))')"; \
	done > .env
	@echo "wrote .env (mode 0600); never commit it"

up: ## build the image and start postgres, migrate, demo, api and runner in the background
	$(COMPOSE) up -d --build

down: ## stop the stack and DELETE the database volume
	$(COMPOSE) down -v

migrate-db: ## create the roles and apply pending migrations in the compose database
	$(COMPOSE) run --rm migrate

logs: ## follow the logs of the api and the runners
	$(COMPOSE) logs -f api runner

test: ## run the test suite (embedded PostgreSQL; no Docker needed)
	npm test

bench: ## run the benchmarks
	npm run bench

start: ## all-in-one local start: embedded PostgreSQL, migrations, demo, API and a runner
	npm start

lint: ## eslint and prettier --check
	npm run lint

build: ## compile TypeScript into dist/
	npm run build
