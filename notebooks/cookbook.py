"""Shared plumbing for the audio-cookbook notebooks.

Every notebook does ``import cookbook`` in its first cell. This module holds what the three
notebooks have in common and what is not itself worth teaching:

* paths and environment switches (fast mode, offline mode, Colab, output folder, seeding);
* downloads that resume, verify their SHA-256 and never leave a half-written file behind,
  plus the registry of the project's real datasets and checkpoints (``ASSETS``);
* safe archive extraction (the recipe's bare ``tar.extractall`` is a path-traversal hole);
* loading third-party PyTorch checkpoints without running code from them;
* audio players and plots that work in Jupyter, Colab and headless runs;
* atomic file writes, and importing the ``library``-tagged cells of a notebook as a module.

Importing this module is cheap: PyTorch, TensorFlow, librosa and matplotlib are imported
inside the functions that need them.
"""
from __future__ import annotations

import _compat_pickle
import contextlib
import hashlib
import http.client
import importlib.util
import json
import os
import pickle
import random
import re
import secrets
import shutil
import stat
import subprocess
import sys
import tarfile
import types
import urllib.error
import urllib.request
import warnings
import zipfile
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping

import numpy as np

__all__ = [
    'REPO_ROOT', 'DATA_DIR', 'SAMPLES_DIR', 'CHECKPOINT_DIR', 'REPO_URL',
    'is_fast', 'is_colab', 'network_allowed', 'output_dir',
    'env_str', 'env_int', 'env_float', 'env_bool', 'env_list',
    'describe_device', 'torch_device', 'seed_everything', 'notice', 'colab_setup',
    'DownloadError', 'OfflineError', 'Asset', 'ASSETS', 'download', 'fetch_asset', 'sha256sum',
    'safe_extract',
    'UnsafeCheckpointError', 'load_pickled_module_state_dict', 'safe_torch_load',
    'play_audio', 'plot_waveform', 'plot_spectrogram', 'plot_melspectrogram',
    'write_wav', 'atomic_path', 'save_figure',
    'import_notebook_code',
]

# --------------------------------------------------------------------------------------
# Paths
# --------------------------------------------------------------------------------------

REPO_ROOT = Path(__file__).resolve().parent.parent
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
    """A folder for generated results (COOKBOOK_OUTPUT_DIR, default REPO_ROOT/outputs), created."""
    base = env_str('COOKBOOK_OUTPUT_DIR', None)
    path = Path(base).expanduser() if base else REPO_ROOT / 'outputs'
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


def colab_setup(pip_packages: Iterable[str] = (), apt_packages: Iterable[str] = (),
                magenta: bool = False) -> list[list[str]]:
    """Install what Colab lacks; a no-op anywhere else.

    ``pip_packages`` entries are 'import_name:pip-spec' (e.g. 'note_seq:note-seq==0.0.5') or a
    plain spec whose import name is the distribution name with '-' -> '_'. Only packages whose
    import name cannot be found are installed. ``magenta=True`` installs magenta==2.1.4 with
    --no-deps (its pinned dependencies do not install on Python >= 3.10) and sets
    TF_USE_LEGACY_KERAS=1, which its MelodyRNN needs. Returns the install commands run.
    """
    if not is_colab():
        return []
    commands: list[list[str]] = []

    def run(command: list[str]) -> None:
        print('$', ' '.join(command), flush=True)
        subprocess.run(command, check=True)
        commands.append(command)

    missing = [spec for import_name, spec in map(_split_pip_entry, pip_packages)
               if importlib.util.find_spec(import_name) is None]
    if missing:
        run([sys.executable, '-m', 'pip', 'install', '-q', *missing])
    apt_missing = [package for package in apt_packages if not _apt_installed(package)]
    if apt_missing:
        run(['apt-get', 'update', '-qq'])
        run(['apt-get', 'install', '-y', '-qq', *apt_missing])
    if magenta:
        os.environ.setdefault('TF_USE_LEGACY_KERAS', '1')
        if importlib.util.find_spec('magenta') is None:
            run([sys.executable, '-m', 'pip', 'install', '-q', '--no-deps', 'magenta==2.1.4'])
    importlib.invalidate_caches()
    return commands


# --------------------------------------------------------------------------------------
# Downloads
# --------------------------------------------------------------------------------------

class DownloadError(RuntimeError):
    """A download failed; the message names the URL, the reason and where to put a manual copy."""


class OfflineError(DownloadError):
    """The network is off (fast or offline mode), so nothing is downloaded."""


@dataclass(frozen=True)
class Asset:
    """One downloadable file of the project. ``subdir`` is 'data' or 'checkpoints'."""
    name: str
    url: str
    filename: str
    size: int | None
    sha256: str | None
    license: str
    subdir: str
    description: str

    @property
    def path(self) -> Path:
        """Where fetch_asset keeps this file by default."""
        base = {'data': DATA_DIR, 'checkpoints': CHECKPOINT_DIR}.get(self.subdir)
        if base is None:
            raise ValueError(f'asset {self.name!r} has unknown subdir {self.subdir!r}')
        return base / self.filename


def _wavegan(dataset: str, label: str) -> list[Asset]:
    base = 'https://s3.amazonaws.com/wavegan-v1/models/'
    files = [('index', f'{dataset}.ckpt.index', 'checkpoint index'),
             ('data', f'{dataset}.ckpt.data-00000-of-00001', 'checkpoint weights'),
             ('meta', f'{dataset}_infer.meta', 'inference graph (MetaGraphDef)')]
    # Hashes unknown: the files were never downloadable from this project's machines.
    return [Asset(f'wavegan_{dataset}_{key}', base + filename, filename, None, None,
                  'MIT (chrisdonahue/wavegan)', 'checkpoints',
                  f'WaveGAN trained on {label}: {what} (TF1 checkpoint, notebook 2)')
            for key, filename, what in files]


def _melody_rnn(config: str) -> Asset:
    # Hashes unknown: see checkpoints/README.md.
    return Asset(f'melody_rnn_{config}', f'http://download.magenta.tensorflow.org/models/{config}.mag',
                 f'{config}.mag', None, None, 'Apache-2.0 (Magenta)', 'checkpoints',
                 f'Magenta MelodyRNN {config} bundle (GeneratorBundle with a V1 checkpoint, notebook 3)')


ASSETS: dict[str, Asset] = {asset.name: asset for asset in [
    Asset('speech_commands_v0.01',
          'http://download.tensorflow.org/data/speech_commands_v0.01.tar.gz',
          'speech_commands_v0.01.tar.gz', 1_489_096_277,
          '743935421bb51cccdb6bdd152e04c5c70274e935c82119ad7faeec31780d811d',
          'CC BY 4.0', 'data',
          'Speech Commands v0.01: one-second 16 kHz clips of 30 spoken words (notebook 1)'),
    # Size and SHA-256 as published by torchaudio's LJSPEECH dataset and measured downloads.
    Asset('ljspeech_1.1',
          'https://data.keithito.com/data/speech/LJSpeech-1.1.tar.bz2',
          'LJSpeech-1.1.tar.bz2', 2_748_572_632,
          'be1a30453f28eb8dd26af4101ae40cbf2c50413b1bb21936cbcdc6fae3de8aa5',
          'Public domain', 'data',
          'LJ Speech 1.1: 13,100 clips of one speaker reading, 22.05 kHz (notebook 2)'),
    # Dropbox returns an HTML preview page unless dl=1 asks for the file itself; the book's
    # recipe leaves it out. Hashes unknown (see checkpoints/README.md).
    Asset('dctts_text2mel_ljspeech',
          'https://www.dropbox.com/s/4t13ugxzzgnocbj/step-300K.pth?dl=1',
          'ljspeech-text2mel.pth', None, None,
          'released by tugstugi/pytorch-dc-tts (no separate licence for the weights)', 'checkpoints',
          'DC-TTS Text2Mel trained on LJ Speech, 300k steps: a whole pickled nn.Module (notebook 2)'),
    Asset('dctts_ssrn_ljspeech',
          'https://www.dropbox.com/s/gw4aqrgcvccmg0g/step-100K.pth?dl=1',
          'ljspeech-ssrn.pth', None, None,
          'released by tugstugi/pytorch-dc-tts (no separate licence for the weights)', 'checkpoints',
          'DC-TTS SSRN trained on LJ Speech, 100k steps: a whole pickled nn.Module (notebook 2)'),
    *_wavegan('timit', 'TIMIT speech'),
    *_wavegan('sc09', 'SC09 spoken digits'),
    _melody_rnn('basic_rnn'),
    _melody_rnn('lookback_rnn'),
    _melody_rnn('attention_rnn'),
]}


def sha256sum(path: str | os.PathLike) -> str:
    """Hex SHA-256 of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, 'rb') as f:
        for chunk in iter(lambda: f.read(1 << 20), b''):
            digest.update(chunk)
    return digest.hexdigest()


def _verify_problem(path: Path, sha256: str | None, size: int | None) -> str | None:
    """None when the file matches the expected size and hash, else what is wrong."""
    actual_size = path.stat().st_size
    if size is not None and actual_size != size:
        return f'size mismatch: expected {size} bytes, got {actual_size}'
    if sha256 is not None:
        actual = sha256sum(path)
        if actual.lower() != sha256.lower():
            return f'SHA-256 mismatch: expected {sha256.lower()}, got {actual}'
    return None


def _manual_hint(dest: Path) -> str:
    return f'To use a copy downloaded by other means, place it at {dest}'


class _Restart(Exception):
    """The server cannot continue the partial file; start again from byte 0."""


def _stream_to_part(url: str, dest: Path, part: Path, offset: int, progress: bool,
                    timeout: float) -> None:
    """Append (offset > 0) or write the response body to ``part``; raise DownloadError on failure."""
    headers = {'User-Agent': 'audio-cookbook (+' + REPO_URL + ')'}
    if offset:
        headers['Range'] = f'bytes={offset}-'
    request = urllib.request.Request(url, headers=headers)
    try:
        response = urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as error:
        error.close()
        if error.code == 416 and offset:  # the partial file does not fit the remote file
            raise _Restart() from None
        raise _failure(url, dest, f'HTTP {error.code} {error.reason}') from None
    except (urllib.error.URLError, OSError, http.client.HTTPException) as error:
        reason = getattr(error, 'reason', error)
        raise _failure(url, dest, f'network error: {reason}') from None

    with response:
        if offset and response.status == 206:
            content_range = response.headers.get('Content-Range', '')
            if not content_range.startswith(f'bytes {offset}-'):
                raise _Restart()
            mode = 'ab'
        else:
            offset, mode = 0, 'wb'  # the server ignored Range: start over cleanly
        length = response.headers.get('Content-Length')
        expected = int(length) if length and length.isdigit() else None
        received = 0
        from tqdm.auto import tqdm
        with open(part, mode) as f, tqdm(total=None if expected is None else offset + expected,
                                         initial=offset, unit='B', unit_scale=True,
                                         unit_divisor=1024, desc=dest.name,
                                         disable=not progress) as bar:
            try:
                while True:
                    chunk = response.read(1 << 20)
                    if not chunk:
                        break
                    f.write(chunk)
                    received += len(chunk)
                    bar.update(len(chunk))
            except (OSError, http.client.HTTPException) as error:
                raise _failure(url, dest, f'connection lost after {offset + received} bytes '
                                          f'({error!r}); partial data kept in {part}, a later '
                                          f'call resumes from there') from None
        # http.client returns a short body without complaint when the peer closes early.
        if expected is not None and received != expected:
            raise _failure(url, dest, f'connection closed after {offset + received} of '
                                      f'{offset + expected} bytes; partial data kept in {part}, '
                                      f'a later call resumes from there')


def _failure(url: str, dest: Path, reason: str) -> DownloadError:
    return DownloadError(f'Download of {url} failed: {reason}. {_manual_hint(dest)}')


def download(url: str, dest: str | os.PathLike, sha256: str | None = None, *,
             size: int | None = None, progress: bool = True, timeout: float = 60) -> Path:
    """Download ``url`` to ``dest``, resuming and verifying; return ``dest``.

    The body streams into ``<dest>.part``; a later call continues it with an HTTP Range request
    (and starts over if the server answers 200 instead of 206). Only after the size and SHA-256
    check does the file move to ``dest`` (os.replace), so after any failure there is no file at
    ``dest``. A dropped connection keeps ``.part`` for resuming; a checksum mismatch deletes it.
    An existing ``dest`` that verifies is returned without any network access (with neither
    ``sha256`` nor ``size`` given, an existing file is trusted as it is).
    """
    dest = Path(dest)
    part = dest.with_name(dest.name + '.part')
    if dest.is_file():
        problem = _verify_problem(dest, sha256, size)
        if problem is None:
            return dest
        print(f'{dest} exists but fails verification ({problem}); downloading it again.')
        dest.unlink()
    dest.parent.mkdir(parents=True, exist_ok=True)

    offset = part.stat().st_size if part.is_file() else 0
    if size is not None and offset > size:
        part.unlink()
        offset = 0
    if not (size is not None and offset == size):  # a complete .part only needs verifying
        try:
            _stream_to_part(url, dest, part, offset, progress, timeout)
        except _Restart:
            part.unlink(missing_ok=True)
            try:
                _stream_to_part(url, dest, part, 0, progress, timeout)
            except _Restart:
                raise _failure(url, dest, 'the server refused a download from byte 0') from None

    problem = _verify_problem(part, sha256, size)
    if problem is not None:
        part.unlink(missing_ok=True)
        raise _failure(url, dest, f'{problem} (the corrupt partial file was deleted)')
    os.replace(part, dest)
    return dest


def fetch_asset(name: str, dest: str | os.PathLike | None = None) -> Path:
    """Return the verified local copy of a registered asset, downloading it when needed.

    ``dest`` defaults to DATA_DIR or CHECKPOINT_DIR (by the asset's subdir) / filename; a
    directory means <dest>/<filename>. With the network off (COOKBOOK_FAST=1 or
    COOKBOOK_OFFLINE=1) a missing file raises OfflineError saying where to put a manual copy.
    """
    if name not in ASSETS:
        raise KeyError(f'unknown asset {name!r}; known assets: {", ".join(sorted(ASSETS))}')
    asset = ASSETS[name]
    path = asset.path if dest is None else Path(dest)
    if path.is_dir():
        path = path / asset.filename
    if path.is_file() and _verify_problem(path, asset.sha256, asset.size) is None:
        return path
    if not network_allowed():
        why = 'COOKBOOK_FAST=1 (fast mode)' if is_fast() else 'COOKBOOK_OFFLINE=1'
        state = ('the file there fails verification' if path.is_file() else 'no copy exists there')
        raise OfflineError(f'{name}: not downloading {asset.url} because network access is off '
                           f'({why}), and {state}. {_manual_hint(path)}')
    return download(asset.url, path, asset.sha256, size=asset.size)


# --------------------------------------------------------------------------------------
# Archives
# --------------------------------------------------------------------------------------

def _archive_target(parts: list[str], links: Mapping[str, str], member: str,
                    depth: int = 0) -> list[str]:
    """Resolve archive-relative path components through the archive's own symlinks.

    Returns the resolved components; raises ValueError when the path leaves the archive root.
    """
    if depth > 32:
        raise ValueError(f'refusing member {member!r}: symlink loop')
    resolved: list[str] = []
    for index, part in enumerate(parts):
        if part in ('', '.'):
            continue
        if part == '..':
            if not resolved:
                raise ValueError(f'refusing member {member!r}: it points outside the destination')
            resolved.pop()
            continue
        resolved.append(part)
        key = '/'.join(resolved)
        if key in links and index < len(parts) - 1:
            # A symlink used as a directory: continue from where it points.
            target = links[key]
            base = resolved[:-1]
            resolved = _archive_target(base + target.split('/'), links, member, depth + 1)
    return resolved


def _check_member_path(name: str) -> list[str]:
    clean = name.replace('\\', '/')
    if clean.startswith('/') or re.match(r'^[A-Za-z]:', clean) or os.path.isabs(name):
        raise ValueError(f'refusing member {name!r}: absolute path')
    parts = clean.split('/')
    depth = 0
    for part in parts:
        depth += -1 if part == '..' else (0 if part in ('', '.') else 1)
        if depth < 0:
            raise ValueError(f'refusing member {name!r}: ".." escapes the destination')
    return parts


def _check_link_target(member: str, target: str, relative_to: list[str],
                       links: Mapping[str, str]) -> None:
    clean = target.replace('\\', '/')
    if clean.startswith('/') or re.match(r'^[A-Za-z]:', clean):
        raise ValueError(f'refusing member {member!r}: link to absolute path {target!r}')
    try:
        _archive_target(relative_to + clean.split('/') + ['x'], links, member)
    except ValueError:
        raise ValueError(f'refusing member {member!r}: link target {target!r} is outside '
                         f'the destination') from None


def _check_tar(tar: tarfile.TarFile) -> None:
    members = tar.getmembers()
    links: dict[str, str] = {}
    for info in members:
        parts = _check_member_path(info.name)
        if info.isdev() or info.isfifo():
            raise ValueError(f'refusing member {info.name!r}: device or FIFO file')
        if not (info.isfile() or info.isdir() or info.issym() or info.islnk()):
            raise ValueError(f'refusing member {info.name!r}: unsupported member type')
        name = '/'.join(p for p in parts if p not in ('', '.'))
        if info.issym():
            _check_link_target(info.name, info.linkname, name.split('/')[:-1], links)
            links[name] = info.linkname.replace('\\', '/')
        elif info.islnk():  # hard link targets are relative to the archive root
            _check_link_target(info.name, info.linkname, [], links)
    # Second pass: every member's own location, resolved through all symlinks.
    for info in members:
        parts = [p for p in info.name.replace('\\', '/').split('/') if p not in ('', '.')]
        if parts:
            _archive_target(parts[:-1] + ['x'], links, info.name)


def _check_zip(archive: zipfile.ZipFile) -> None:
    for info in archive.infolist():
        _check_member_path(info.filename)
        mode = info.external_attr >> 16
        if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) or stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode):
            raise ValueError(f'refusing member {info.filename!r}: device or FIFO file')
        if stat.S_ISLNK(mode):
            target = archive.read(info).decode('utf-8', 'replace')
            parts = [p for p in info.filename.replace('\\', '/').split('/') if p]
            _check_link_target(info.filename, target, parts[:-1], {})


def safe_extract(archive: str | os.PathLike, dest: str | os.PathLike) -> Path:
    """Extract a tar (plain, gz, bz2, xz) or zip archive into ``dest`` and return ``dest``.

    Every member is checked before anything is written: absolute paths, '..' escapes, links
    pointing outside ``dest`` and device/FIFO files raise ValueError naming the member.
    """
    archive, dest = Path(archive), Path(dest)
    if not archive.is_file():
        raise FileNotFoundError(f'archive not found: {archive}')
    if tarfile.is_tarfile(archive):
        with tarfile.open(archive, 'r:*') as tar:
            _check_tar(tar)
            dest.mkdir(parents=True, exist_ok=True)
            if hasattr(tarfile, 'data_filter'):
                # Python's own filter as a second line of defence (it also drops setuid bits).
                try:
                    tar.extractall(dest, filter='data')
                except tarfile.FilterError as error:
                    raise ValueError(f'refusing member {error.tarinfo.name!r}: {error}') from None
            else:
                tar.extractall(dest)
    elif zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as zf:
            _check_zip(zf)
            dest.mkdir(parents=True, exist_ok=True)
            zf.extractall(dest)
    else:
        raise ValueError(f'{archive} is neither a tar nor a zip archive')
    return dest


# --------------------------------------------------------------------------------------
# Checkpoints: unpickling with an allow-list
# --------------------------------------------------------------------------------------

class UnsafeCheckpointError(ValueError):
    """A checkpoint refers to a global that is not on the allow-list."""


class _StandIn:
    """Inert record of a pickled object: keeps its constructor arguments and state, runs nothing."""
    _qualname = '?'
    dump_patches = False  # read by torch's legacy loader; never patch source files

    def __new__(cls, *args, **kwargs):
        record = object.__new__(cls)
        record.__dict__['_standin_args'] = args
        return record

    def __init__(self, *args, **kwargs):
        pass

    def __setstate__(self, state):
        if isinstance(state, tuple) and len(state) == 2 and isinstance(state[1], dict):
            state = {**(state[0] or {}), **state[1]}  # (dict state, slot state)
        if isinstance(state, dict):
            self.__dict__.update(state)
        else:
            self.__dict__['_standin_state'] = state

    def __repr__(self):
        return f'<stand-in for {self._qualname}>'


_standin_classes: dict[str, type] = {}


def _standin_for(qualname: str) -> type:
    if qualname not in _standin_classes:
        _standin_classes[qualname] = type(qualname.rsplit('.', 1)[-1], (_StandIn,),
                                          {'_qualname': qualname, '__module__': __name__})
    return _standin_classes[qualname]


def _safe_rebuilders() -> dict[tuple[str, str], Any]:
    """Allow-listed callables. Tensor rebuilders are wrapped so that hooks and extra state
    stored in a file are dropped instead of being attached to the tensors."""
    import torch
    import torch._utils as tu

    def rebuild_tensor(storage, storage_offset, size, stride):
        return tu._rebuild_tensor(storage, storage_offset, size, stride)

    def rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad=False,
                          backward_hooks=None, metadata=None):
        return tu._rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad,
                                     OrderedDict(), metadata)

    def rebuild_tensor_v3(storage, storage_offset, size, stride, requires_grad, backward_hooks,
                          dtype, metadata=None):
        return tu._rebuild_tensor_v3(storage, storage_offset, size, stride, requires_grad,
                                     OrderedDict(), dtype, metadata)

    def rebuild_parameter(data, requires_grad, backward_hooks=None, state=None):
        return torch.nn.Parameter(data, requires_grad)

    def rebuild_from_type_v2(func, new_type, args, state):
        if func not in rebuilders.values():
            raise UnsafeCheckpointError(f'refusing tensor rebuild through {func!r}')
        tensor = func(*args)
        return torch.nn.Parameter(tensor) if new_type is torch.nn.Parameter else tensor

    def thnn_backend():  # PyTorch <= 0.4 pickled a backend object into every module
        return None

    rebuilders = {
        ('torch._utils', '_rebuild_tensor'): rebuild_tensor,
        ('torch._utils', '_rebuild_tensor_v2'): rebuild_tensor_v2,
        ('torch._utils', '_rebuild_tensor_v3'): rebuild_tensor_v3,
        ('torch._utils', '_rebuild_parameter'): rebuild_parameter,
        ('torch._utils', '_rebuild_parameter_with_state'): rebuild_parameter,
        ('torch._tensor', '_rebuild_from_type_v2'): rebuild_from_type_v2,
        ('torch.nn.backends.thnn', '_get_thnn_function_backend'): thnn_backend,
    }
    return rebuilders


def _latin1_encode(text: str, encoding: str = 'latin1') -> bytes:
    if encoding.lower().replace('-', '').replace('_', '') != 'latin1':
        raise UnsafeCheckpointError(f'refusing _codecs.encode with encoding {encoding!r}')
    return text.encode('latin1')


def _plain_globals() -> dict[tuple[str, str], Any]:
    """Containers and value types that are safe to construct from any arguments."""
    import copyreg
    import torch
    allowed: dict[tuple[str, str], Any] = {
        ('collections', 'OrderedDict'): OrderedDict,
        ('torch', 'Size'): torch.Size,
        ('torch', 'device'): torch.device,
        ('torch', 'Tensor'): torch.Tensor,
        ('torch.nn.parameter', 'Parameter'): torch.nn.Parameter,
        ('copyreg', '_reconstructor'): copyreg._reconstructor,
        ('_codecs', 'encode'): _latin1_encode,  # protocol-2 pickles store bytes this way
    }
    for name in ('set', 'frozenset', 'list', 'tuple', 'dict', 'slice', 'range', 'complex',
                 'bytearray', 'bytes', 'int', 'float', 'bool', 'str'):
        allowed[('builtins', name)] = getattr(__import__('builtins'), name)
    for name in dir(torch):
        if isinstance(getattr(torch, name, None), torch.dtype):
            allowed[('torch', name)] = getattr(torch, name)
    multiarray = getattr(np, '_core', None) or np.core
    for module in ('numpy.core.multiarray', 'numpy._core.multiarray'):
        allowed[(module, '_reconstruct')] = multiarray.multiarray._reconstruct
        allowed[(module, 'scalar')] = multiarray.multiarray.scalar
    allowed[('numpy', 'ndarray')] = np.ndarray
    allowed[('numpy', 'dtype')] = np.dtype
    return allowed


# Module classes (and weight-norm hooks, DataParallel wrappers ...) of torch.nn become stand-ins.
_TORCH_NN_STANDIN_PREFIXES = ('torch.nn.',)


def _restricted_pickle_module(source: str, stand_in_prefixes: tuple[str, ...],
                              stand_ins: Mapping[str, type]) -> types.SimpleNamespace:
    """A module-like object for torch.load(pickle_module=...) whose Unpickler only resolves
    allow-listed globals; everything else raises UnsafeCheckpointError naming the global."""
    allowed = {**_plain_globals(), **_safe_rebuilders()}

    class RestrictedUnpickler(pickle.Unpickler):
        def find_class(self, module: str, name: str):
            # Protocol-2 pickles written by Python 3 carry Python 2 names (__builtin__.set).
            if (module, name) in _compat_pickle.NAME_MAPPING:
                module, name = _compat_pickle.NAME_MAPPING[(module, name)]
            module = _compat_pickle.IMPORT_MAPPING.get(module, module)
            qualname = f'{module}.{name}'
            if (module, name) in allowed:
                return allowed[(module, name)]
            if qualname in stand_ins:
                return stand_ins[qualname]
            if any(qualname.startswith(prefix) for prefix in stand_in_prefixes):
                return _standin_for(qualname)
            allowed_text = ', '.join(['tensors', 'plain containers',
                                      *(repr(prefix + '*') for prefix in stand_in_prefixes),
                                      *(repr(name) for name in stand_ins)])
            raise UnsafeCheckpointError(
                f'{source}: refusing to load global {qualname!r}: it is not on the allow-list '
                f'({allowed_text}), and loading it could run code from the file. If you trust '
                f'this class, map it to a class of your own: '
                f'safe_torch_load(path, stand_ins={{{qualname!r}: YourClass}}).')

    def load(file, **kwargs):
        return RestrictedUnpickler(file, **kwargs).load()

    return types.SimpleNamespace(__name__='cookbook_restricted_pickle',
                                 Unpickler=RestrictedUnpickler, load=load,
                                 UnpicklingError=pickle.UnpicklingError)


def _restricted_torch_load(path: str | os.PathLike, stand_in_prefixes: tuple[str, ...],
                           stand_ins: Mapping[str, type]):
    import torch
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f'checkpoint not found: {path}')
    pickle_module = _restricted_pickle_module(str(path), stand_in_prefixes, stand_ins)
    with warnings.catch_warnings():
        # The legacy format compares saved module source with the class; stand-ins have none.
        warnings.filterwarnings('ignore', message="Couldn't retrieve source code")
        try:
            return torch.load(path, map_location='cpu', pickle_module=pickle_module,
                              weights_only=False)
        except UnsafeCheckpointError:
            raise
        except Exception as error:
            if isinstance(error.__context__, UnsafeCheckpointError):
                raise error.__context__ from None
            raise ValueError(f'{path}: cannot read this file as a PyTorch checkpoint: '
                             f'{error}') from error


def _state_dict_from_record(record: _StandIn, prefix: str, out: OrderedDict) -> None:
    import torch
    fields = record.__dict__
    non_persistent = fields.get('_non_persistent_buffers_set') or set()
    for group in ('_parameters', '_buffers'):
        for key, value in (fields.get(group) or {}).items():
            if value is None or (group == '_buffers' and key in non_persistent):
                continue
            if not isinstance(value, torch.Tensor):
                raise ValueError(f'{prefix}{key} in {group} is not a tensor but {value!r}')
            out[prefix + key] = value.detach()
    for key, child in (fields.get('_modules') or {}).items():
        if child is None:
            continue
        if not isinstance(child, _StandIn):
            raise ValueError(f'submodule {prefix}{key} is not a module record but {child!r}')
        _state_dict_from_record(child, f'{prefix}{key}.', out)


def load_pickled_module_state_dict(path: str | os.PathLike,
                                   allowed_prefixes: tuple[str, ...] = ('models.',)
                                   ) -> OrderedDict:
    """State dict of a whole pickled nn.Module (legacy or zip torch format), without running it.

    Module classes (torch.nn ones and those whose qualified name starts with one of
    ``allowed_prefixes``) become inert stand-in records; the state dict (parameters and
    persistent buffers, dotted keys as nn.Module.state_dict()) is rebuilt from them. Any other
    global raises UnsafeCheckpointError. A file holding a plain state dict (or a dict with a
    'state_dict' entry) is accepted too.
    """
    import torch
    obj = _restricted_torch_load(path, _TORCH_NN_STANDIN_PREFIXES + tuple(allowed_prefixes), {})
    if isinstance(obj, dict) and 'state_dict' in obj:
        obj = obj['state_dict']
    if isinstance(obj, _StandIn):
        state = OrderedDict()
        _state_dict_from_record(obj, '', state)
        return state
    if isinstance(obj, dict) and all(isinstance(v, torch.Tensor) for v in obj.values()):
        return OrderedDict((k, v.detach()) for k, v in obj.items())
    raise ValueError(f'{path}: expected a pickled nn.Module or a state dict, found '
                     f'{type(obj).__name__}')


def safe_torch_load(path: str | os.PathLike, stand_ins: Mapping[str, type] | None = None):
    """torch.load restricted to tensors, plain containers and the classes in ``stand_ins``.

    ``stand_ins`` maps a qualified class name found in the file (e.g. 'models.ssrn.SSRN') to a
    class of your own that is rebuilt in its place (via __new__ and __setstate__/__dict__, not
    __init__). Anything else raises UnsafeCheckpointError naming the global.
    """
    return _restricted_torch_load(path, (), dict(stand_ins or {}))


# --------------------------------------------------------------------------------------
# Audio and display
# --------------------------------------------------------------------------------------

def _to_numpy(audio) -> np.ndarray:
    if hasattr(audio, 'detach'):  # torch tensor
        audio = audio.detach().cpu().numpy()
    elif hasattr(audio, 'numpy') and not isinstance(audio, np.ndarray):  # tf tensor
        audio = audio.numpy()
    return np.asarray(audio)


def _channels_first(y: np.ndarray) -> np.ndarray:
    """Mono stays 1-D; (samples, channels) becomes (channels, samples)."""
    if y.ndim == 1:
        return y
    if y.ndim != 2:
        raise ValueError(f'audio must be 1-D or 2-D (channels x samples), got shape {y.shape}')
    if y.shape[0] > y.shape[1]:
        y = y.T
    return y[0] if y.shape[0] == 1 else y


def _load_audio_argument(audio, sr: int | None) -> tuple[np.ndarray, int]:
    if isinstance(audio, (str, os.PathLike)):
        import soundfile as sf
        path = Path(audio)
        if not path.is_file():
            raise FileNotFoundError(f'audio file not found: {path}')
        y, file_sr = sf.read(path, dtype='float32', always_2d=False)
        y = _channels_first(np.asarray(y))
        if sr is not None and sr != file_sr:
            import librosa
            y = librosa.resample(y, orig_sr=file_sr, target_sr=sr)
            file_sr = sr
        return y, int(file_sr)
    if sr is None:
        raise ValueError('sr (the sample rate) is required when audio is an array or tensor')
    y = _channels_first(_to_numpy(audio))
    return y, int(sr)


class _ShownAudio:
    """Mixin: the player was displayed already, so IPython must not show it a second time
    when a cell ends with play_audio(...)."""

    def _ipython_display_(self):
        pass


def play_audio(audio, sr: int | None = None, *, max_seconds: float = 30.0, title: str | None = None):
    """Display an audio player with the data embedded (works in Jupyter and Colab).

    ``audio`` is a NumPy array, a torch tensor (1-D, or channels x samples) or a path to an
    audio file. Audio longer than ``max_seconds`` is truncated, with a printed note. Returns the
    IPython.display.Audio object (already displayed).
    """
    from IPython.display import Audio, display
    y, sr = _load_audio_argument(audio, sr)
    if sr <= 0:
        raise ValueError(f'sample rate must be positive, got {sr}')
    if y.size == 0:
        raise ValueError('cannot play empty audio')
    y = y.astype(np.float32)
    if not np.all(np.isfinite(y)):
        raise ValueError('audio contains NaN or infinite values')
    n = y.shape[-1]
    limit = int(max_seconds * sr)
    if n > limit:
        print(f'Note: the audio is {n / sr:.1f} s long; the player holds the first '
              f'{max_seconds:.1f} s only.')
        y = y[..., :limit]
    if title:
        print(title)
    peak = float(np.max(np.abs(y)))
    player = Audio(data=y, rate=sr, normalize=peak > 0)
    display(player)
    player.__class__ = type('DisplayedAudio', (_ShownAudio, Audio), {})
    return player


def _new_axes(ax, figsize=(10, 3)):
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt
    _, ax = plt.subplots(figsize=figsize)
    return ax


def plot_waveform(y, sr: int, ax=None, title: str | None = None):
    """Plot a waveform with librosa.display.waveshow; returns the Axes."""
    import librosa.display
    y = _channels_first(_to_numpy(y).astype(np.float32))
    ax = _new_axes(ax)
    librosa.display.waveshow(y, sr=sr, ax=ax)
    ax.set(title=title or 'Waveform', xlabel='Time (s)', ylabel='Amplitude')
    return ax


def plot_spectrogram(y, sr: int, ax=None, title: str | None = None):
    """Plot a log-frequency STFT spectrogram in dB; returns the Axes."""
    import librosa
    import librosa.display
    y = _to_numpy(y).astype(np.float32)
    if y.ndim != 1:
        y = librosa.to_mono(_channels_first(y))
    n_fft = 2048 if len(y) >= 2048 else max(16, 2 ** int(np.log2(max(len(y), 16))))
    db = librosa.amplitude_to_db(np.abs(librosa.stft(y, n_fft=n_fft)), ref=np.max)
    ax = _new_axes(ax)
    image = librosa.display.specshow(db, sr=sr, hop_length=n_fft // 4, x_axis='time',
                                     y_axis='log', ax=ax)
    ax.figure.colorbar(image, ax=ax, format='%+2.0f dB')
    ax.set(title=title or 'Spectrogram (log frequency)')
    return ax


def plot_melspectrogram(y=None, sr: int = 22050, *, mel=None, ax=None, title: str | None = None,
                        n_mels: int = 80, hop_length: int | None = None):
    """Plot a mel spectrogram; returns the Axes.

    Pass audio ``y`` (converted to a power mel spectrogram in dB) or a precomputed ``mel`` of
    shape (n_mels, frames), which is shown as given (e.g. a model's log-mel output).
    """
    import librosa
    import librosa.display
    if (y is None) == (mel is None):
        raise ValueError('pass exactly one of y (audio) or mel (a mel spectrogram)')
    hop = hop_length or 512
    if mel is None:
        y = _to_numpy(y).astype(np.float32)
        if y.ndim != 1:
            y = librosa.to_mono(_channels_first(y))
        power = librosa.feature.melspectrogram(y=y, sr=sr, n_mels=n_mels, hop_length=hop)
        values, label = librosa.power_to_db(power, ref=np.max), '%+2.0f dB'
    else:
        values = _to_numpy(mel).astype(np.float32)
        if values.ndim == 3 and values.shape[0] == 1:
            values = values[0]
        if values.ndim != 2:
            raise ValueError(f'mel must have shape (n_mels, frames), got {values.shape}')
        label = '%.2f'
    ax = _new_axes(ax)
    image = librosa.display.specshow(values, sr=sr, hop_length=hop, x_axis='time',
                                     y_axis='mel', ax=ax)
    ax.figure.colorbar(image, ax=ax, format=label)
    ax.set(title=title or 'Mel spectrogram')
    return ax


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success it is renamed onto ``path``.

    If the block raises, the temporary file is removed and ``path`` is left untouched. The
    temporary name keeps the suffix, so writers that infer the format from it still work.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f'.{path.stem}.{secrets.token_hex(4)}.tmp{path.suffix}')
    try:
        yield tmp
        if not tmp.exists():
            raise FileNotFoundError(f'nothing was written to {tmp} (meant for {path})')
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def write_wav(path: str | os.PathLike, y, sr: int) -> Path:
    """Write 16-bit PCM WAV atomically. Float input in [-1, 1] is clipped and scaled."""
    import soundfile as sf
    data = _channels_first(_to_numpy(y))
    if data.size == 0:
        raise ValueError(f'refusing to write empty audio to {path}')
    if np.issubdtype(data.dtype, np.floating):
        if not np.all(np.isfinite(data)):
            raise ValueError(f'audio for {path} contains NaN or infinite values')
        data = np.round(np.clip(data, -1.0, 1.0) * 32767).astype(np.int16)
    elif data.dtype != np.int16:
        raise ValueError(f'audio for {path} must be float or int16, got {data.dtype}')
    if data.ndim == 2:
        data = data.T  # soundfile wants (samples, channels)
    path = Path(path)
    with atomic_path(path) as tmp:
        sf.write(tmp, data, int(sr), subtype='PCM_16', format='WAV')
    return path


def save_figure(fig, path: str | os.PathLike, **savefig_kwargs) -> Path:
    """Save a matplotlib figure atomically (format from the suffix); returns the path."""
    path = Path(path)
    savefig_kwargs.setdefault('bbox_inches', 'tight')
    savefig_kwargs.setdefault('dpi', 120)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, **savefig_kwargs)
    return path


# --------------------------------------------------------------------------------------
# Notebook code
# --------------------------------------------------------------------------------------

def _find_notebook(notebook: str | os.PathLike) -> Path:
    path = Path(notebook)
    if path.is_file():
        return path
    candidate = REPO_ROOT / 'notebooks' / path
    if not path.is_absolute() and candidate.is_file():
        return candidate
    raise FileNotFoundError(f'notebook not found: {notebook} (looked in the current folder '
                            f'and in {REPO_ROOT / "notebooks"})')


def import_notebook_code(notebook: str | os.PathLike, tag: str = 'library',
                         module_name: str | None = None) -> types.ModuleType:
    """Run the code cells tagged ``tag`` of a notebook in a fresh module and return it.

    A bare file name is looked up in the current folder, then in REPO_ROOT/notebooks. The module
    is registered in sys.modules (so pickling and dataclasses work) under ``module_name``
    (default: 'nb_' + the notebook's stem).
    """
    path = _find_notebook(notebook)
    try:
        nb = json.loads(path.read_text(encoding='utf-8'))
    except (OSError, ValueError) as error:
        raise ValueError(f'{path} is not a readable notebook: {error}') from error
    cells = [(index, cell) for index, cell in enumerate(nb.get('cells', []))
             if cell.get('cell_type') == 'code' and tag in cell.get('metadata', {}).get('tags', [])]
    if not cells:
        raise ValueError(f'{path} has no code cells tagged {tag!r}')
    name = module_name or 'nb_' + re.sub(r'\W', '_', path.stem)
    module = types.ModuleType(name, f'Cells tagged {tag!r} of {path.name}')
    module.__file__ = str(path)
    sys.modules[name] = module
    try:
        for index, cell in cells:
            source = cell.get('source', '')
            source = ''.join(source) if isinstance(source, list) else source
            exec(compile(source, f'{path}#cell{index}', 'exec'), module.__dict__)
    except BaseException as error:
        sys.modules.pop(name, None)
        if isinstance(error, Exception):
            error.add_note(f'while running cell {index} (tag {tag!r}) of {path}')
        raise
    return module
