# Two commands on a fresh machine: `make run` (the provider on SQLite + in-process store) and
# `make test` (the whole suite). Both build the virtual environment first.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat setup.cfg pyproject.toml | cksum | cut -d' ' -f1)
PORT   ?= 5000
MO     := translations/zh_Hans_CN/LC_MESSAGES/messages.mo translations/en/LC_MESSAGES/messages.mo

.PHONY: run test lint bench translations messages clean

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

run: $(STAMP) $(MO)
	mkdir -p instance && $(BIN)/python -m idp.devenv instance/dev.env
	set -a && . ./instance/dev.env && set +a && \
	export IDP_ENV=development IDP_ISSUER=$${IDP_ISSUER:-http://127.0.0.1:$(PORT)} && \
	$(BIN)/idp db upgrade && \
	$(BIN)/idp dev bootstrap && \
	exec $(BIN)/idp run --host 127.0.0.1 --port $(PORT) --with-threads

test: $(STAMP) $(MO)
	$(BIN)/pytest

lint: $(STAMP)
	$(BIN)/ruff check .

bench: $(STAMP) $(MO)
	bash bench/run.sh

clean:
	rm -rf $(VENV) instance
