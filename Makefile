# The README's two commands. Each makes its own virtual environment on first use.
PYTHON ?= $(shell for p in python3.13 python3.12 python3.11 python3; do \
	command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
	&& { echo $$p; break; }; done)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test lint bench clean catalogs

$(STAMP): pyproject.toml
	@test -n "$(PYTHON)" || { echo "Python 3.11 or newer is needed (python3.11 on PATH)"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/archive-twin demo

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/mypy server devices labels
	$(BIN)/python .ci/licences.py

test: lint
	$(BIN)/pytest

# The dashboard's words: extract every key the Python and templates use (babel.cfg), add the
# keys built at run time that only the English catalog knows (t("status." ~ s)), then bring
# both catalogs up to date. New keys arrive empty: write their English and Chinese in the .po.
# tests/unit/test_catalogs.py reads BABEL_KEYWORDS from here, so both extract alike.
BABEL_KEYWORDS := -k t -k n:1,1
POT := dashboard/locale/dashboard.pot
catalogs: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg $(BABEL_KEYWORDS) --no-location --omit-header -o $(POT) .
	$(BIN)/python -m dashboard.i18n $(POT)
	$(BIN)/pybabel update -i $(POT) -d dashboard/locale -D dashboard --no-fuzzy-matching \
		--ignore-obsolete --no-wrap

bench: $(STAMP)
	$(BIN)/python -m tests.bench

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache

# messages (issue 13): the server's message keys (domain errors, scan outcomes, alarms) into
# server/locale/server.pot, and merged into the Chinese catalog; the test
# tests/unit/test_server_messages.py fails while a key has no Chinese.
SERVER_KEYWORDS = -k NotFound -k Invalid -k Conflict -k Forbidden -k DomainError -k TooLarge \
	-k _AboveClearance -k said
catalogs-server:
	$(BIN)/pybabel extract -F server/locale/babel.cfg --no-default-keywords $(SERVER_KEYWORDS) \
		--no-location --omit-header --sort-output -o server/locale/server.pot .
	$(BIN)/pybabel update -D server -i server/locale/server.pot -d server/locale -l zh \
		--no-fuzzy-matching --ignore-obsolete
.PHONY: catalogs-server
