"""The registry of the project's real datasets and checkpoints, downloads that resume and verify
their SHA-256 before anything lands at the destination, and safe archive extraction."""
from __future__ import annotations

import hashlib
import http.client
import os
import re
import shutil
import stat
import sys
import tarfile
import tempfile
import urllib.error
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path

from . import env
from .env import REPO_URL

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
        base = {'data': env.DATA_DIR, 'checkpoints': env.CHECKPOINT_DIR}.get(self.subdir)
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
    # v0.02 (Warden 2018, 35 words, about 105,000 clips). SHA-256 as torchaudio's SPEECHCOMMANDS
    # checks it; the size is not known here (never downloaded from this project's machines).
    Asset('speech_commands_v0.02',
          'http://download.tensorflow.org/data/speech_commands_v0.02.tar.gz',
          'speech_commands_v0.02.tar.gz', None,
          'af14739ee7dc311471de98f5f9d2c9191b18aedfe957f4a6ff791c709868ff58', 'CC BY 4.0', 'data',
          'Speech Commands v0.02: one-second 16 kHz clips of 35 spoken words (notebook 1)'),
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
    _melody_rnn('mono_rnn'),
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
    if not env.network_allowed():
        why = 'COOKBOOK_FAST=1 (fast mode)' if env.is_fast() else 'COOKBOOK_OFFLINE=1'
        state = ('the file there fails verification' if path.is_file() else 'no copy exists there')
        raise OfflineError(f'{name}: not downloading {asset.url} because network access is off '
                           f'({why}), and {state}. {_manual_hint(path)}')
    return download(asset.url, path, asset.sha256, size=asset.size)


# --------------------------------------------------------------------------------------
# Archives
# --------------------------------------------------------------------------------------

def _check_zip(archive: zipfile.ZipFile) -> None:
    """zipfile has no extraction filter (it silently rewrites bad names): refuse them instead."""
    for info in archive.infolist():
        name = info.filename.replace('\\', '/')
        if name.startswith('/') or re.match(r'^[A-Za-z]:', name):
            raise ValueError(f'refusing member {info.filename!r}: absolute path')
        if '..' in name.split('/'):
            raise ValueError(f'refusing member {info.filename!r}: ".." escapes the destination')
        mode = info.external_attr >> 16
        if stat.S_ISLNK(mode) or stat.S_ISCHR(mode) or stat.S_ISBLK(mode) or stat.S_ISFIFO(mode):
            raise ValueError(f'refusing member {info.filename!r}: link, device or FIFO file')


def _extract_tar(archive: Path, staging: Path) -> None:
    if not hasattr(tarfile, 'data_filter'):
        raise RuntimeError('safe tar extraction needs Python 3.11.4 or newer (PEP 706 filters); '
                           f'this is {sys.version.split()[0]}')
    with tarfile.open(archive, 'r:*') as tar:
        for member in tar.getmembers():  # the filter would strip the '/', we refuse instead
            if member.name.startswith(('/', '\\')) or re.match(r'^[A-Za-z]:', member.name):
                raise ValueError(f'refusing member {member.name!r} of {archive}: absolute path')
        try:
            # PEP 706's 'data' filter refuses absolute paths, '..', links leading outside,
            # device files, and drops setuid bits.
            tar.extractall(staging, filter='data')
        except tarfile.FilterError as error:
            raise ValueError(f'refusing member {error.tarinfo.name!r} of {archive}: {error}') from None


def safe_extract(archive: str | os.PathLike, dest: str | os.PathLike) -> Path:
    """Extract a tar (plain, gz, bz2, xz) or zip archive into ``dest`` and return ``dest``.

    Members with absolute paths, '..' escapes, links pointing outside the archive, or device
    files raise ValueError naming the member. Extraction happens in a staging folder beside
    ``dest``, so a refused or broken archive leaves nothing behind in ``dest``.
    """
    archive, dest = Path(archive), Path(dest)
    if not archive.is_file():
        raise FileNotFoundError(f'archive not found: {archive}')
    is_tar, is_zip = tarfile.is_tarfile(archive), zipfile.is_zipfile(archive)
    if not (is_tar or is_zip):
        raise ValueError(f'{archive} is neither a tar nor a zip archive')
    dest.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f'.{dest.name}.', suffix='.extracting', dir=dest.parent))
    try:
        if is_tar:
            _extract_tar(archive, staging)
        else:
            with zipfile.ZipFile(archive) as zf:
                _check_zip(zf)
                zf.extractall(staging)
        dest.mkdir(exist_ok=True)
        for entry in staging.iterdir():
            target = dest / entry.name
            if target.is_dir() and not target.is_symlink() and entry.is_dir():
                shutil.copytree(entry, target, symlinks=True, dirs_exist_ok=True)
            else:
                os.replace(entry, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return dest
