# Two commands do everything on a fresh Linux machine with Python 3.11 or 3.13 (tested; 3.12 is
# accepted but has not been tried):
#   make run    set up .venv, then execute all three notebooks; results land in outputs/
#   make test   set up .venv, then run the unit tests and every notebook end to end (fast mode, offline)
# and more:
#   make test-colab   the same tests in a stand-in for Colab's GPU runtime (.venv-colab, Python 3.13):
#               Colab's published package versions, then what Colab lacks installed by the notebooks'
#               own Colab set-up calls (see .ci/constraints/ and .ci/colab_replica.py)
#   make lab    JupyterLab (pinned in requirements-lab.txt) on the notebooks
#   make bench  every benchmark, one after the other, into benchmarks/results/, then the quoted
#               figures in the READMEs and notebooks rewritten from them (benchmarks/README.md)
#   make bench-quick   each benchmark's --quick mode into outputs/bench-quick/ (a check, in CI)
#   make clean  removes outputs/;  make clean-data  removes downloaded data and trained checkpoints
PYTHON := .venv/bin/python
COLAB_VENV := .venv-colab
COLAB_CONSTRAINTS := .ci/constraints/colab-gpu-2026-08.txt
# Quick benchmark runs never write into benchmarks/results/.
QUICK_RESULTS := $(CURDIR)/outputs/bench-quick

.PHONY: run test setup fast clean clean-data setup-colab test-colab lab \
        bench bench-voice-commands bench-tts bench-melody bench-notebooks bench-quick
# Benchmarks share the CPU with nothing, not even each other: never run two at once, even with -j.
.NOTPARALLEL:

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

lab: setup
	$(PYTHON) -m pip install --quiet --disable-pip-version-check -r requirements-lab.txt
	.venv/bin/jupyter lab notebooks/

# --- Benchmarks (benchmarks/README.md). Each needs the machine to itself for its times. --------
# The data settings are those the notebooks read: SPEECH_COMMANDS_DIR (a folder in the Speech
# Commands layout) and LJSPEECH_DIR (an LJSpeech-format folder). A benchmark whose data is not
# set is skipped with a message. A failing benchmark stops `make bench` (`make -k bench` goes on
# with the others; then run `.venv/bin/python benchmarks/results.py quote` yourself).
bench: setup bench-voice-commands bench-tts bench-melody bench-notebooks
	$(PYTHON) benchmarks/results.py quote

bench-voice-commands: setup
	@if [ -z "$$SPEECH_COMMANDS_DIR" ] || [ -z "$$LJSPEECH_DIR" ]; then \
	    echo "[bench] voice_commands SKIPPED: it needs SPEECH_COMMANDS_DIR (a folder in the Speech Commands" \
	         "layout) and LJSPEECH_DIR (other speech, for negatives); set both to measure it"; \
	else \
	    echo "$(PYTHON) benchmarks/bench_voice_commands.py"; \
	    $(PYTHON) benchmarks/bench_voice_commands.py; \
	fi

bench-tts: setup
	@if [ -z "$$LJSPEECH_DIR" ]; then \
	    echo "[bench] tts: LJSPEECH_DIR is not set, so the Griffin-Lim part (real recordings) is SKIPPED;" \
	         "the decoder and synthesis timings need no data"; \
	fi
	$(PYTHON) benchmarks/bench_tts.py

bench-melody: setup
	$(PYTHON) benchmarks/bench_melody.py
	$(PYTHON) benchmarks/bench_melody.py --timing

# Four runs, not one (--all): a disturbance during one part then marks only that part's times.
bench-notebooks: setup
	$(PYTHON) benchmarks/bench_notebooks.py --run 01,02,03
	$(PYTHON) benchmarks/bench_notebooks.py --run-all
	$(PYTHON) benchmarks/bench_notebooks.py --test
	$(PYTHON) benchmarks/bench_notebooks.py --setup

# The same scripts in their --quick mode (minutes; the figures say nothing), on the shipped samples
# unless the data settings say otherwise, into outputs/bench-quick/.
bench-quick: setup
	SPEECH_COMMANDS_DIR=$${SPEECH_COMMANDS_DIR:-$(CURDIR)/data/samples/speech_commands} \
	LJSPEECH_DIR=$${LJSPEECH_DIR:-$(CURDIR)/data/samples/ljspeech} COOKBOOK_RESULTS_DIR=$(QUICK_RESULTS) \
	    $(PYTHON) benchmarks/bench_voice_commands.py --quick
	COOKBOOK_RESULTS_DIR=$(QUICK_RESULTS) $(PYTHON) benchmarks/bench_tts.py --quick
	COOKBOOK_RESULTS_DIR=$(QUICK_RESULTS) $(PYTHON) benchmarks/bench_melody.py --quick
	COOKBOOK_RESULTS_DIR=$(QUICK_RESULTS) $(PYTHON) benchmarks/bench_notebooks.py --quick
	$(PYTHON) benchmarks/results.py show --results $(QUICK_RESULTS)

clean:
	rm -rf outputs .pytest_cache

# Downloaded datasets and model files, and the checkpoints notebook 2's training writes
# (checkpoints/dctts-own/); keeps the shipped samples and model. Lists each path and its size first.
clean-data:
	$(or $(wildcard $(PYTHON)),python3) scripts/clean_data.py
