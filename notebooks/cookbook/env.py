"""Settings, paths and the runtime: fast/offline mode, environment variables, device, seeding,
notices, and the Colab set-up that installs what Colab lacks."""
from __future__ import annotations

import contextlib
import importlib.util
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Iterable

import numpy as np

# --------------------------------------------------------------------------------------
# Paths
# --------------------------------------------------------------------------------------

REPO_ROOT = Path(__file__).resolve().parents[2]
DATA_DIR = REPO_ROOT / 'data'
SAMPLES_DIR = DATA_DIR / 'samples'
CHECKPOINT_DIR = REPO_ROOT / 'checkpoints'
REPO_URL = 'https://github.com/audio-cookbook/audio-cookbook'

# --------------------------------------------------------------------------------------
# Environment
# --------------------------------------------------------------------------------------

_TRUE = {'1', 'true', 'yes', 'on', 'y', 't'}
_FALSE = {'0', 'false', 'no', 'off', 'n', 'f'}


def _env_raw(name: str) -> str | None:
    """The variable's value, or None when it is unset or blank."""
    value = os.environ.get(name)
    if value is None or value.strip() == '':
        return None
    return value.strip()


def _bad_env(name: str, value: str, expected: str) -> ValueError:
    return ValueError(f'environment variable {name}={value!r} is not {expected}; '
                      f'fix or unset {name}')


def env_str(name: str, default: str | None) -> str | None:
    """A string from the environment (blank or unset -> default)."""
    value = _env_raw(name)
    return default if value is None else value


def env_int(name: str, default: int) -> int:
    """An integer from the environment; a malformed value raises ValueError naming it."""
    value = _env_raw(name)
    if value is None:
        return default
    try:
        return int(value)
    except ValueError:
        raise _bad_env(name, value, 'an integer') from None


def env_float(name: str, default: float) -> float:
    """A float from the environment; a malformed value raises ValueError naming it."""
    value = _env_raw(name)
    if value is None:
        return default
    try:
        result = float(value)
    except ValueError:
        raise _bad_env(name, value, 'a number') from None
    if not np.isfinite(result):
        raise _bad_env(name, value, 'a finite number')
    return result


def env_bool(name: str, default: bool) -> bool:
    """A boolean from the environment: 1/0, true/false, yes/no, on/off (any case)."""
    value = _env_raw(name)
    if value is None:
        return default
    if value.lower() in _TRUE:
        return True
    if value.lower() in _FALSE:
        return False
    raise _bad_env(name, value, 'a boolean (use 1/0, true/false, yes/no or on/off)')


def env_list(name: str, default: list[str]) -> list[str]:
    """A comma-separated list from the environment (items stripped, empty items refused)."""
    value = _env_raw(name)
    if value is None:
        return list(default)
    items = [item.strip() for item in value.split(',')]
    if any(item == '' for item in items):
        raise _bad_env(name, value, 'a comma-separated list without empty items')
    return items


def is_fast() -> bool:
    """Fast mode (COOKBOOK_FAST=1): small data, few steps, and no network access at all."""
    return env_bool('COOKBOOK_FAST', False)


def is_colab() -> bool:
    """True when running inside Google Colab."""
    return 'google.colab' in sys.modules or 'COLAB_RELEASE_TAG' in os.environ


def network_allowed() -> bool:
    """False in fast mode or with COOKBOOK_OFFLINE=1: downloads then fail fast and clearly."""
    return not (is_fast() or env_bool('COOKBOOK_OFFLINE', False))


def output_dir(*parts: str) -> Path:
    """A folder for generated results (COOKBOOK_OUTPUT_DIR, default REPO_ROOT/outputs), created.

    A relative COOKBOOK_OUTPUT_DIR is taken from the repository root, not from the kernel's
    working folder (Jupyter and nbval start kernels in notebooks/).
    """
    base = env_str('COOKBOOK_OUTPUT_DIR', None)
    path = REPO_ROOT / Path(base).expanduser() if base else REPO_ROOT / 'outputs'
    path = path.joinpath(*parts)
    path.mkdir(parents=True, exist_ok=True)
    return path


_device_description: str | None = None


def _find_device_description() -> str:
    # Ask the framework the notebook already uses; importing TensorFlow just for this would
    # cost seconds and gigabytes, so TensorFlow is consulted only when it is loaded already.
    if 'tensorflow' in sys.modules and 'torch' not in sys.modules:
        import tensorflow as tf
        gpus = tf.config.list_physical_devices('GPU')
        if gpus:
            return f'GPU (TensorFlow): {len(gpus)} device(s): ' + ', '.join(g.name for g in gpus)
        return f'CPU (TensorFlow, {os.cpu_count()} cores; no GPU found)'
    try:
        import torch
    except ImportError:
        return f'CPU ({os.cpu_count()} cores; PyTorch not installed)'
    if torch.cuda.is_available():
        return f'GPU: {torch.cuda.get_device_name(0)} (CUDA {torch.version.cuda})'
    return f'CPU ({os.cpu_count()} cores; no GPU found)'


def gpu_available() -> bool:
    """Whether an NVIDIA GPU is usable, asked without importing a framework.

    Parameters cells use it to pick defaults (training steps) before TensorFlow or PyTorch is
    imported: the melody notebook must set TF_USE_LEGACY_KERAS before TensorFlow loads.
    """
    if 'torch' in sys.modules:
        import torch
        return bool(torch.cuda.is_available())
    if shutil.which('nvidia-smi') is None:
        return False
    try:
        listing = subprocess.run(['nvidia-smi', '-L'], capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.SubprocessError):
        return False
    return listing.returncode == 0 and 'GPU' in listing.stdout


def describe_device() -> str:
    """Describe the compute device; printed the first time only, returned every time.

    Call it after importing the notebook's framework: with only TensorFlow loaded it asks
    TensorFlow, otherwise PyTorch.
    """
    global _device_description
    if _device_description is None:
        _device_description = _find_device_description()
        print(f'Device: {_device_description}')
    return _device_description


def torch_device():
    """The torch.device to use: CUDA when available, else CPU."""
    import torch
    return torch.device('cuda' if torch.cuda.is_available() else 'cpu')


def seed_everything(seed: int = 0) -> int:
    """Seed Python, NumPy and the frameworks already imported (PyTorch, TensorFlow/Keras).

    Frameworks are not imported just to seed them: import them before calling this.
    """
    seed = int(seed)
    os.environ['PYTHONHASHSEED'] = str(seed)  # affects subprocesses, not this interpreter
    random.seed(seed)
    np.random.seed(seed)
    if 'torch' in sys.modules:
        import torch
        torch.manual_seed(seed)  # also seeds every CUDA device
    if 'keras' in sys.modules:
        import keras
        keras.utils.set_random_seed(seed)
    if 'tensorflow' in sys.modules:
        import tensorflow as tf
        tf.random.set_seed(seed)
    return seed


def _in_jupyter() -> bool:
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and hasattr(shell, 'kernel')


def notice(message: str) -> None:
    """Show a notice the reader cannot miss: a Markdown box in Jupyter, a plain line elsewhere."""
    text = f'NOTICE: {message}'
    if _in_jupyter():
        from IPython.display import display
        quoted = '\n'.join('> ' + line for line in str(message).splitlines())
        display({'text/markdown': f'> **Notice**\n>\n{quoted}', 'text/plain': text}, raw=True)
    else:
        print(text, flush=True)


def _split_pip_entry(entry: str) -> tuple[str, str]:
    """'import_name:pip-spec' or a plain pip spec -> (import name, pip spec)."""
    if ':' in entry:
        import_name, spec = entry.split(':', 1)
        return import_name.strip(), spec.strip()
    spec = entry.strip()
    distribution = re.split(r'[<>=!~;\[\s@]', spec, maxsplit=1)[0]
    return distribution.replace('-', '_'), spec


def _apt_installed(package: str) -> bool:
    result = subprocess.run(['dpkg-query', '-W', '-f=${Status}', package],
                            capture_output=True, text=True)
    return result.returncode == 0 and 'install ok installed' in (result.stdout or '')


# What Colab ships and the set-up must never replace: pip is held to their installed versions,
# so an install that needs other versions fails instead of swapping Colab's builds.
COLAB_KEPT = ('tensorflow', 'keras', 'tf_keras', 'torch', 'numpy', 'protobuf')


def _installed_version(distribution: str) -> str | None:
    from importlib import metadata
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


def _canonical(name: str) -> str:
    return re.sub(r'[-_.]+', '-', name).lower()


def _project_pins() -> dict[str, str]:
    """{canonical name: version} of requirements.txt: the versions this project tests."""
    path = REPO_ROOT / 'requirements.txt'
    if not path.is_file():
        return {}
    pins = {}
    for line in path.read_text(encoding='utf-8').splitlines():
        match = re.match(r'^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;#]+)\s*$', line.strip())
        if match:
            pins[_canonical(match.group(1))] = match.group(2)
    return pins


def _pinned(spec: str, pins: dict[str, str]) -> str:
    """The spec pinned to the tested version (requirements.txt) when that version satisfies it."""
    from packaging.requirements import Requirement
    requirement = Requirement(spec)
    tested = pins.get(_canonical(requirement.name))
    if requirement.url or tested is None or str(requirement.specifier).startswith('=='):
        return spec
    if requirement.specifier and not requirement.specifier.contains(tested, prereleases=True):
        return spec
    return f'{requirement.name}=={tested}'


def _too_old(spec: str) -> str | None:
    """A reader-facing message when the installed release does not satisfy ``spec``, else None."""
    from packaging.requirements import Requirement
    requirement = Requirement(spec)
    installed = _installed_version(requirement.name)
    if installed is None or not requirement.specifier or \
            requirement.specifier.contains(installed, prereleases=True):
        return None
    wanted = _pinned(requirement.name, _project_pins())
    wanted = wanted if '==' in wanted else spec
    kept = ' (one of the packages Colab ships)' if _canonical(requirement.name) in \
        {_canonical(n) for n in COLAB_KEPT} else ''
    return (f'{requirement.name} {installed} is installed{kept}, but this notebook calls features '
            f'of {spec}, which that release lacks. The set-up never upgrades a package that is '
            f'already installed. Upgrade it yourself with  pip install "{wanted}"  (in Colab: '
            f'!pip install -q "{wanted}"), restart the runtime (Runtime > Restart session) and run '
            f'the notebook again.')


def _kept_constraints_path() -> Path:
    return Path(tempfile.gettempdir()) / 'cookbook-colab-constraints.txt'


def _kept_constraints() -> Path:
    """A pip constraints file holding the installed versions of COLAB_KEPT (kept for reruns)."""
    lines = [f'{name}=={version}' for name in COLAB_KEPT
             if (version := _installed_version(name)) is not None]
    path = _kept_constraints_path()
    path.write_text(''.join(line + '\n' for line in lines), encoding='utf-8')
    return path


def colab_setup(pip_packages: Iterable[str] = (), apt_packages: Iterable[str] = (),
                magenta: bool = False) -> list[list[str]]:
    """Install what Colab lacks, never changing what it has; a no-op anywhere else.

    ``pip_packages`` entries are 'import_name:pip-spec' (e.g. 'note_seq:note-seq==0.0.5') or a
    plain spec whose import name is the distribution name with '-' -> '_'. Only packages whose
    import name cannot be found are installed, at the version requirements.txt pins when the spec
    allows it, with pip held (``-c``) to the installed versions of COLAB_KEPT (tensorflow, keras,
    tf_keras, torch, numpy, protobuf). A package that is installed but older than its spec asks
    for raises RuntimeError saying so and how to upgrade it by hand. ``magenta=True`` installs
    magenta==2.1.4 with --no-deps (its pinned dependencies do not install on Python >= 3.10) and
    sets TF_USE_LEGACY_KERAS=1, which its MelodyRNN needs. Returns the install commands run.
    """
    if not is_colab():
        return []
    commands: list[list[str]] = []

    def run(command: list[str], hint: str = '') -> None:
        # One line per step; the tool's own chatter (hundreds of apt lines) is shown only when
        # the step fails, with the command, so the reader can rerun it by hand.
        print('$', ' '.join(command), flush=True)
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f'set-up step failed (exit {done.returncode}): {" ".join(command)}\n'
                               f'{hint}{(done.stdout or "")[-2000:]}{(done.stderr or "")[-2000:]}')
        commands.append(command)

    entries = [_split_pip_entry(entry) for entry in pip_packages]
    too_old = [message for import_name, spec in entries
               if importlib.util.find_spec(import_name) is not None and (message := _too_old(spec))]
    if too_old:
        raise RuntimeError('\n'.join(too_old))
    pins = _project_pins()
    missing = [_pinned(spec, pins) for import_name, spec in entries
               if importlib.util.find_spec(import_name) is None]
    if missing:
        constraints = _kept_constraints()
        kept = ', '.join(constraints.read_text(encoding='utf-8').split())
        run([sys.executable, '-m', 'pip', 'install', '-q', '-c', str(constraints), *missing],
            hint=f'(pip was held to the installed {kept}: a package that needs other versions of '
                 f'them cannot be installed here.)\n')
    apt_missing = [package for package in apt_packages if not _apt_installed(package)]
    if apt_missing:
        run(['apt-get', 'update', '-qq'])
        run(['apt-get', 'install', '-y', '-qq', '--no-install-recommends', *apt_missing])
    if magenta:
        os.environ.setdefault('TF_USE_LEGACY_KERAS', '1')
        if importlib.util.find_spec('magenta') is None:
            run([sys.executable, '-m', 'pip', 'install', '-q', '--no-deps', 'magenta==2.1.4'])
    importlib.invalidate_caches()
    return commands


@contextlib.contextmanager
def quiet_native_logs():
    """Hide what C++ libraries write straight to file descriptor 2 while the block runs.

    TensorFlow's start-up lines ("All log messages before absl::InitializeLog() is called...",
    cudart stubs) and TensorFlow Lite's converter notes bypass Python's logging, and Jupyter
    shows them as red text a reader takes for failure. Python exceptions still raise.
    """
    try:
        saved = os.dup(2)
    except OSError:  # no real file descriptor 2 (some hosted kernels)
        yield
        return
    try:
        with open(os.devnull, 'w') as devnull:
            sys.stderr.flush()
            os.dup2(devnull.fileno(), 2)
            yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)


def quiet_tensorflow(import_now: bool = True) -> None:
    """Keep TensorFlow's C++ start-up log out of the notebook; call before importing TensorFlow.

    Without a GPU the log is only noise that a reader takes for failure (CUDA libraries not
    found, cuInit errors, oneDNN notes), so everything below FATAL is hidden. With a GPU the
    errors logged after import still show: they may explain a slow run. Some lines are written
    at import time whatever the level says, so by default TensorFlow is imported here with
    file descriptor 2 silenced (set TF_USE_LEGACY_KERAS and the like before calling this).
    """
    os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2' if gpu_available() else '3')
    try:
        import absl.logging
        absl.logging.set_verbosity(absl.logging.ERROR)
    except ImportError:
        pass
    if import_now and 'tensorflow' not in sys.modules and importlib.util.find_spec('tensorflow'):
        import_triton_before_tensorflow()
        with quiet_native_logs():
            import tensorflow  # noqa: F401  (errors still raise)


def import_triton_before_tensorflow() -> None:
    """Import triton (installed with CUDA builds of PyTorch) now, if TensorFlow is not loaded yet.

    With TensorFlow 2.21 and triton 3.7 on Python 3.13, importing triton *after* TensorFlow
    kills the process with a segmentation fault (seen here; PyTorch imports triton lazily, e.g.
    when the first optimiser is built); the other order works. Costs about 2 s, once.
    """
    if 'tensorflow' in sys.modules or 'triton' in sys.modules or not importlib.util.find_spec('triton'):
        return
    with quiet_native_logs():
        try:
            import triton  # noqa: F401
        except Exception:  # a broken triton is PyTorch's business, not a reason to stop here
            pass
