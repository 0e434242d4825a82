# The one way to run things. `make run` and `make test` are the two commands the README promises.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV   := .venv
BIN    := $(VENV)/bin
MODEL  := models/settle.tar.gz
export SQLALCHEMY_SILENCE_UBER_WARNING := 1
# Rasa reports usage to its makers unless told not to; Settle sends nothing anywhere.
export RASA_TELEMETRY_ENABLED ?= false
TRAINING_FILES := config.yml domain.yml $(shell find data -name '*.yml' 2>/dev/null)

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(BIN)/.installed: pyproject.toml
	@command -v python3.10 >/dev/null || { echo "Settle needs Python 3.10 (Rasa 3.6 does not run on newer ones): install it, e.g. 'pyenv install 3.10', then run make again." >&2; exit 1; }
	@echo "==> Creating the virtualenv in $(VENV) and installing (about 2 minutes the first time)"
	@test -x $(BIN)/python || python3.10 -m venv $(VENV)
	@$(BIN)/pip install --quiet --upgrade pip
	@$(BIN)/pip install --quiet -e '.[dev]'
	@touch $@

# The chat widget's socket.io client is vendored from the npm lock file, so no page fetches it from the internet.
WIDGET_JS := settle/web/static/vendor/socket.io.min.js
$(WIDGET_JS): settle/web/widget/package-lock.json
	@command -v npm >/dev/null || { echo "The chat widget needs Node.js and npm to vendor socket.io-client: install them (e.g. 'apt-get install npm'), then run make again." >&2; exit 1; }
	@echo "==> Vendoring socket.io-client for the chat widget"
	@npm ci --prefix settle/web/widget --no-audit --no-fund --loglevel=error
	@mkdir -p $(@D)
	@cp settle/web/widget/node_modules/socket.io-client/dist/socket.io.min.js $@

install: $(BIN)/.installed $(WIDGET_JS)  ## create the virtualenv and install everything

# The browser tests drive Debian's Chromium (Playwright's own browser download needs the internet).
/usr/bin/chromium:
	@echo "==> Installing Chromium for the browser tests"
	@if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium >/dev/null; \
	 else echo "The browser tests need Chromium at /usr/bin/chromium: run 'sudo apt-get install chromium'." >&2; exit 1; fi

# `settle run --replicas N` puts Debian's HAProxy in front of the replicas; the tests check its configuration.
/usr/sbin/haproxy:
	@echo "==> Installing HAProxy for the replicas' load balancer"
	@if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq haproxy >/dev/null; \
	 else echo "settle run --replicas and its tests need HAProxy: run 'sudo apt-get install haproxy'." >&2; exit 1; fi

db: install  ## create and seed the demo database if it is missing
	@$(BIN)/settle setup

$(MODEL): $(TRAINING_FILES) | $(BIN)/.installed
	@echo "==> Training the model, because data/, domain.yml or config.yml changed (about 6 minutes on 2 cores)"
	@$(BIN)/rasa train --fixed-model-name settle --out models --quiet \
	  || { echo "Training failed: the lines above say why; 'make validate' checks the data." >&2; exit 1; }

train: $(MODEL)  ## train the model if the training data changed

# The demo's sandbox payment provider runs only with SETTLE_DEMO=1 (docs/security.md).
run: db train  ## run Settle with demo data: action server + Rasa server (REST, socket.io)
	@SETTLE_DEMO=1 $(BIN)/settle run --stop-with-parent

shell: db train  ## chat with Settle in this terminal
	@SETTLE_DEMO=1 $(BIN)/settle run --shell

# Rasa calls every response an action sends "not used in any story or rule"; tests/actions/test_responses.py
# checks those instead (each response is sent by a rule, story, action or form), so that notice is left out,
# as is the one for EXTERNAL_ intents, which the reminder engine sends and no customer types.
RASA_VALIDATE := set -o pipefail; $(BIN)/rasa data validate --fail-on-warnings 2>&1 \
	| { grep -v -e "is not used in any story or rule" -e "intent 'EXTERNAL_" || true; }

validate: install  ## check the training data, rules and stories
	@$(RASA_VALIDATE)

lint: install  ## ruff (mistakes, import order) and mypy (types of the core and the actions)
	@$(BIN)/ruff check .
	@$(BIN)/mypy

# Training keeps about one core busy for its five minutes, so the checks that need no model run beside it (each
# one's output is shown whole when it ends); then the tests that need the model.
test: install /usr/bin/chromium /usr/bin/dot /usr/sbin/haproxy  ## run every test: lint, data validation, unit, actions, conversations, end-to-end
	@$(MAKE) --no-print-directory -j2 --output-sync=target train checks
	@echo "==> Running the conversation tests"
	@$(BIN)/rasa test core --model $(MODEL) --stories tests/conversations --fail-on-prediction-errors --out var/results --quiet
	@echo "==> Running the end-to-end tests (the trained model in real servers)"
	@$(BIN)/pytest -m e2e

checks: install /usr/bin/chromium /usr/bin/dot /usr/sbin/haproxy  ## what needs no trained model: lint, data validation, unit, actions, components and web tests
	@echo "==> Linting and type-checking"
	@$(MAKE) --no-print-directory lint
	@echo "==> Checking the training data"
	@$(RASA_VALIDATE)
	@echo "==> Running pytest (unit, actions, components, web) in two processes, each with its own databases"
	@$(BIN)/pytest -m "not e2e" -n 2 --dist loadfile

bench: install train  ## NLU, dialogue, latency, 1 vs 2 replicas, cost and scale figures (about an hour); report in var/bench/ (wipes the settle_bench PostgreSQL database)
	@$(BIN)/settle bench --train --nlu-test tests/nlu/held_out.yml tests/nlu/held_out_nl.yml tests/nlu/held_out_fr.yml

# The flow diagrams are drawn by Debian's Graphviz.
/usr/bin/dot:
	@echo "==> Installing Graphviz to draw the flows"
	@if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq graphviz >/dev/null; \
	 else echo "make flows needs Graphviz's dot: run 'sudo apt-get install graphviz'." >&2; exit 1; fi

flows: install /usr/bin/dot  ## draw each journey's rules, stories and forms into docs/flows/ (Graphviz)
	@$(BIN)/python -m settle.tooling.flows docs/flows

clean:  ## remove the demo database, models and logs (keeps the virtualenv)
	rm -rf var models/*.tar.gz
	rm -rf settle/web/static/vendor settle/web/widget/node_modules

.PHONY: help install db train run shell validate lint checks test bench flows clean
