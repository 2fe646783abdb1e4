"""Shared pytest set-up: the helper module lives beside the notebooks, as the notebooks import it."""
import os
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS_DIR = REPO_ROOT / 'notebooks'
if str(NOTEBOOKS_DIR) not in sys.path:
    sys.path.insert(0, str(NOTEBOOKS_DIR))

# TensorFlow's start-up chatter hides real failures in the test log.
os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')

# Tests import TensorFlow and PyTorch in one process; with CUDA builds of PyTorch on Python 3.13,
# triton must be imported before TensorFlow or the process dies (see the function).
import cookbook  # noqa: E402

cookbook.import_triton_before_tensorflow()
