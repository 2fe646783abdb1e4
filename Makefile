# Two commands do everything on a fresh Linux machine with Python 3.11, 3.12 or 3.13:
#   make run    set up .venv, then execute all three notebooks; results land in outputs/
#   make test   set up .venv, then run the unit tests and every notebook end to end (fast mode, offline)
PYTHON := .venv/bin/python

.PHONY: run test setup fast clean

setup:
	bash scripts/setup.sh

run: setup
	$(PYTHON) scripts/run_notebooks.py

# Fast mode: small bundled data, a few training steps, no network at all.
test: setup
	COOKBOOK_FAST=1 COOKBOOK_OUTPUT_DIR=$(CURDIR)/outputs/test $(PYTHON) -m pytest

fast: setup
	COOKBOOK_FAST=1 $(PYTHON) scripts/run_notebooks.py

clean:
	rm -rf outputs .pytest_cache
