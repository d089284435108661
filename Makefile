# Two commands on a fresh machine: `make run` (the provider on SQLite + in-process store) and
# `make test` (the whole suite). Both build the virtual environment first.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat setup.cfg pyproject.toml | cksum | cut -d' ' -f1)
MO     := translations/zh_Hans_CN/LC_MESSAGES/messages.mo translations/en/LC_MESSAGES/messages.mo

.PHONY: run serve test lint bench translations messages demo clean

$(STAMP): setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[test]"
	rm -f $(VENV)/.installed-*
	touch $@

translations/%/LC_MESSAGES/messages.mo: translations/%/LC_MESSAGES/messages.po $(STAMP)
	$(BIN)/pybabel compile --use-fuzzy -d translations -l $* --statistics

translations: $(MO)

# After changing user-facing text: refresh the catalogues, then fill the new msgstr entries
# (tests/unit/test_i18n.py fails while any message lacks its Chinese or English text).
messages: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg -k _ -k gettext -o translations/messages.pot \
		--no-location --omit-header .
	$(BIN)/pybabel update -i translations/messages.pot -d translations --no-fuzzy-matching -w 100

# The development server's port: `make run PORT=…`, else IDP_PORT, else 5000. The issuer is
# IDP_ISSUER, else http://127.0.0.1:<port>. Secrets come from instance/dev.env (generated once);
# what the server runs with is written to instance/make-run.env, which the idp command reads,
# so `.venv/bin/idp …` works from any terminal without exports (idp/devenv.py).
ifeq ($(origin PORT),command line)
RUN_PORT := $(PORT)
else
RUN_PORT := $(or $(IDP_PORT),$(PORT),5000)
endif

run: export IDP_ENV = development
run: export IDP_PORT = $(RUN_PORT)
run: $(STAMP) $(MO)
	$(BIN)/python -m idp.devenv --make-run
	$(BIN)/idp db upgrade
	$(BIN)/idp dev bootstrap --port $(RUN_PORT)
	exec $(BIN)/idp run --host 127.0.0.1 --port $(RUN_PORT) --with-threads

# Production: the environment alone (IDP_*, IDP_PORT, WEB_CONCURRENCY; gunicorn.conf.py).
# Creates and changes nothing, and never reads the development files in instance/.
serve: $(STAMP) $(MO)
	exec $(BIN)/gunicorn wsgi:app

test: $(STAMP) $(MO)
	$(BIN)/pytest

lint: $(STAMP)
	$(BIN)/ruff check .

bench: $(STAMP) $(MO)
	bash bench/run.sh

# Two regional platforms, a regional provider (a second instance) and the national one, with
# single sign-on, logout everywhere and brokering (examples/run.sh; ports from DEMO_PORT, 5200).
demo: $(STAMP) $(MO)
	bash examples/run.sh

clean:
	rm -rf $(VENV) instance
