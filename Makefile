# Two commands do everything (a third checks Colab) on a fresh Linux machine with Python 3.11, 3.12 or 3.13:
#   make run    set up .venv, then execute all three notebooks; results land in outputs/
#   make test   set up .venv, then run the unit tests and every notebook end to end (fast mode, offline)
#   make test-colab   the same tests in a stand-in for Colab's GPU runtime (.venv-colab, Python 3.13):
#               Colab's published package versions, then what Colab lacks installed by the notebooks'
#               own Colab set-up calls (see constraints/ and ci/colab_replica.py)
PYTHON := .venv/bin/python
COLAB_VENV := .venv-colab
COLAB_CONSTRAINTS := constraints/colab-gpu-2026-08.txt

.PHONY: run test setup fast clean setup-colab test-colab

setup:
	bash scripts/setup.sh

run: setup
	$(PYTHON) scripts/run_notebooks.py

# Fast mode: small bundled data, a few training steps, no network at all.
test: setup
	COOKBOOK_FAST=1 COOKBOOK_OUTPUT_DIR=$(CURDIR)/outputs/test $(PYTHON) -m pytest

setup-colab:
	COOKBOOK_VENV=$(COLAB_VENV) COOKBOOK_CONSTRAINTS=$(COLAB_CONSTRAINTS) bash scripts/setup.sh

test-colab: setup-colab
	COOKBOOK_FAST=1 COOKBOOK_OUTPUT_DIR=$(CURDIR)/outputs/test-colab $(COLAB_VENV)/bin/python -m pytest

fast: setup
	COOKBOOK_FAST=1 $(PYTHON) scripts/run_notebooks.py

clean:
	rm -rf outputs .pytest_cache
