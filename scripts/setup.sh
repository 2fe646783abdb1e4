#!/usr/bin/env bash
# Prepares everything the notebooks and tests need, from a machine with nothing prepared:
#   1. system libraries (libfluidsynth for MIDI synthesis) when we are root with apt-get,
#      otherwise one line that says which command to run;
#   2. .venv with the exact package set of requirements.txt;
#   3. magenta==2.1.4 with --no-deps (its declared dependencies cannot be installed on Python >= 3.10).
# Re-running is cheap: a stamp file remembers what was installed.
#
# Settings (environment variables):
#   COOKBOOK_VENV=DIR        the virtual environment (default .venv)
#   COOKBOOK_PYTHON=PYTHON   the interpreter that creates it (default: the first Python 3.11-3.13 found;
#            3.11 and 3.13 are tested, 3.12 has not been tried)
#   COOKBOOK_CONSTRAINTS=FILE  a stand-in for Colab (`make test-colab`): instead of step 2, our packages
#            that Colab has at the versions FILE pins (Colab's published pip freeze, see
#            .ci/constraints/), then what Colab lacks through each notebook's own Colab set-up call
#            (.ci/colab_replica.py), then a check that no package Colab has was changed. Python 3.13.
set -euo pipefail

cd "$(dirname "$0")/.."
VENV=${COOKBOOK_VENV:-.venv}
STAMP="$VENV/.cookbook-installed"
MAGENTA_VERSION=2.1.4
CONSTRAINTS=${COOKBOOK_CONSTRAINTS:-}
if [ -n "$CONSTRAINTS" ] && [ ! -f "$CONSTRAINTS" ]; then
    echo "[setup] ERROR: COOKBOOK_CONSTRAINTS=$CONSTRAINTS is not a file (see .ci/constraints/)." >&2
    exit 2
fi

log() { printf '[setup] %s\n' "$*"; }

# --- 1. system packages -------------------------------------------------------------------
have_libfluidsynth() {
    ldconfig -p 2>/dev/null | grep -q 'libfluidsynth\.so'
}
if ! have_libfluidsynth; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        log "installing libfluidsynth3 (MIDI synthesis) with apt-get"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq >/dev/null
        apt-get install -y -qq --no-install-recommends libfluidsynth3 >/dev/null
    else
        log "NOTE: libfluidsynth is missing, so the melody notebook will fall back to simple sine"
        log "      synthesis. Install it with:  sudo apt-get install libfluidsynth3   (macOS: brew install fluid-synth)"
    fi
fi

# --- 2. Python and the virtual environment ------------------------------------------------
# A Colab stand-in runs Colab's Python (3.13); otherwise 3.11, 3.12 or 3.13 (3.11 and 3.13 are
# tested; 3.12 is accepted but has not been tried).
if [ -n "$CONSTRAINTS" ]; then VERSIONS='((3, 13),)'; VERSIONS_TEXT='3.13 (as Colab)'
else VERSIONS='((3, 11), (3, 12), (3, 13))'; VERSIONS_TEXT='3.11, 3.12 or 3.13'; fi
supported() {
    "$1" -c "import sys; sys.exit(0 if sys.version_info[:2] in $VERSIONS else 1)" 2>/dev/null
}
pick_python() {
    if [ -n "${COOKBOOK_PYTHON:-}" ]; then  # asked for by name: that one or a clear error
        if supported "$COOKBOOK_PYTHON"; then echo "$COOKBOOK_PYTHON"; return 0; fi
        echo "[setup] ERROR: COOKBOOK_PYTHON=$COOKBOOK_PYTHON does not run as Python $VERSIONS_TEXT." >&2
        echo "[setup]        Point it at such an interpreter (a full path works), or unset it." >&2
        return 2
    fi
    local candidates="python3.11 python3.12 python3.13 python3"
    if [ -n "$CONSTRAINTS" ]; then  # also pyenv's 3.13 builds, which its shims hide unless selected
        candidates="python3.13 $(ls -d "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.13*/bin/python3.13 2>/dev/null | sort -V | tr '\n' ' ')"
    fi
    for candidate in $candidates; do
        command -v "$candidate" >/dev/null 2>&1 || continue
        if supported "$candidate"; then echo "$candidate"; return 0; fi
    done
    echo "[setup] ERROR: Python $VERSIONS_TEXT is required (the pinned set is tested on 3.11 and 3.13; 3.12 is accepted, untested)." >&2
    echo "[setup]        Install one, or point COOKBOOK_PYTHON at it, then run this again." >&2
    return 1
}

if [ ! -x "$VENV/bin/python" ]; then
    PYTHON=$(pick_python) || exit 1
    log "creating $VENV with $($PYTHON --version)"
    "$PYTHON" -m venv "$VENV"
fi

wanted="$(cat requirements.txt) magenta==$MAGENTA_VERSION"
if [ -n "$CONSTRAINTS" ]; then  # also what the Colab stand-in is made of
    wanted="$wanted $(cat "$CONSTRAINTS" .ci/colab_replica.py notebooks/cookbook/env.py)
$("$VENV/bin/python" .ci/colab_replica.py calls)"
fi
wanted_hash=$(printf '%s' "$wanted" | sha256sum | cut -d' ' -f1)
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$wanted_hash" ]; then
    log "$VENV is up to date"
    exit 0
fi

if [ -n "$CONSTRAINTS" ]; then
    # Colab's own pip first, then every package of requirements.txt that Colab has, at Colab's
    # version: the stand-in starts as Colab does.
    log "installing Colab's versions ($CONSTRAINTS) of our packages that Colab has into $VENV"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -c "$CONSTRAINTS" pip
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -c "$CONSTRAINTS" \
        $("$VENV/bin/python" .ci/colab_replica.py base "$CONSTRAINTS")
    log "installing what Colab lacks as the notebooks' Colab set-up cells do"
    "$VENV/bin/python" .ci/colab_replica.py setup-cells
    "$VENV/bin/python" .ci/colab_replica.py check "$CONSTRAINTS"
else
    log "installing requirements.txt into $VENV (a few minutes the first time)"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r requirements.txt
    log "installing magenta==$MAGENTA_VERSION with --no-deps"
    "$VENV/bin/python" -m pip install --quiet --no-deps "magenta==$MAGENTA_VERSION"
fi

# A quick import check, so a broken environment fails here and not in the middle of a notebook.
# Its start-up chatter (TensorFlow's C++ log, pydub's missing-ffmpeg warning) is shown only if
# an import fails.
if ! check_log=$(TF_USE_LEGACY_KERAS=1 TF_CPP_MIN_LOG_LEVEL=3 "$VENV/bin/python" - 2>&1 <<'PY'
import importlib
for name in ['tensorflow', 'tf_keras', 'torch', 'librosa', 'note_seq', 'pretty_midi', 'music21',
             'sklearn', 'nbval', 'magenta.models.melody_rnn.melody_rnn_sequence_generator']:
    importlib.import_module(name)
PY
); then
    printf '%s\n' "$check_log" >&2
    log "ERROR: a package does not import in $VENV (output above); delete $VENV and run again"
    exit 1
fi
log "imports OK"
printf '%s' "$wanted_hash" > "$STAMP"
log "done"
