"""The registry of the project's real datasets and checkpoints, a fetcher that checks what came back
before anything lands at the destination, and safe archive extraction.

A download streams into ``<file>.part`` (resumed with an HTTP Range request after a dropped
connection), is checked by its content (an HTML page, an empty answer or a file that is not the
registered kind is refused), by its size and by its SHA-256, and only then is renamed into place.
A registered file may list mirrors, tried in order. Files without a published SHA-256 are trusted
on first use: the size and SHA-256 of the first copy that passed the checks are recorded in
``<file>.download.json`` beside it, and every later use is verified against that record.
"""
from __future__ import annotations

import datetime
import hashlib
import http.client
import json
import os
import pickle
import re
import shutil
import stat
import struct
import sys
import tarfile
import tempfile
import urllib.error
import urllib.request
import warnings
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

from . import env
from .env import REPO_URL

# --------------------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------------------

class DownloadError(RuntimeError):
    """A download failed; the message names the URL, the reason and where to put a manual copy."""


class OfflineError(DownloadError):
    """The network is off (fast or offline mode), so nothing is downloaded."""


class ChangedFileError(DownloadError):
    """A file differs from the size and SHA-256 recorded when it was first used."""


# --------------------------------------------------------------------------------------
# What a file is: content checks, run on every download before it is moved into place
# --------------------------------------------------------------------------------------

def _size_text(n: int) -> str:
    if n < 1000:
        return f'{n} byte{"" if n == 1 else "s"}'
    for unit, scale in (('kB', 1e3), ('MB', 1e6), ('GB', 1e9)):
        if n < scale * 1000 or unit == 'GB':
            value = n / scale
            return f'{value:.0f} {unit}' if value >= 10 or unit == 'kB' else f'{value:.1f} {unit}'
    raise AssertionError('unreachable')


def _looks_like_html(head: bytes) -> bool:
    """The first bytes of an HTML page: what an expired or rate-limited link, a preview page or a
    captive portal serves with status 200."""
    text = head.lstrip(b'\xef\xbb\xbf \t\r\n').lower()
    if text.startswith((b'<!doctype html', b'<html', b'<head', b'<body')):
        return True
    return text.startswith(b'<') and (b'<html' in text[:2048] or b'<body' in text[:2048])


def _html_phrase(head: bytes, size: int, what: str, at_least: bool = False) -> str:
    match = re.search(rb'<title[^>]*>(.*?)</title>', head, re.IGNORECASE | re.DOTALL)
    title = ''
    if match:
        words = ' '.join(match.group(1).decode('utf-8', 'replace').split())
        title = f' (title {words[:80]!r})' if words else ''
    amount = ('at least ' if at_least else '') + _size_text(size)
    return (f'an HTML page of {amount}{title}, not {what}: the link may have expired, be '
            'rate-limited or need a browser')


class _NoGlobals(pickle.Unpickler):
    """Loads plain values only (numbers, strings, containers): any class or persistent id is refused."""

    def find_class(self, module, name):
        raise pickle.UnpicklingError(f'unexpected global {module}.{name}')

    def persistent_load(self, pid):
        raise pickle.UnpicklingError('unexpected persistent id')


class _Inert:
    """What every global of a pickle becomes in _Skeleton: accepts any arguments, runs nothing."""
    _qualname = '?'

    def __new__(cls, *args, **kwargs):
        return object.__new__(cls)

    def __init__(self, *args, **kwargs):
        pass

    def __setstate__(self, state):
        pass

    def __setitem__(self, key, value):
        pass

    def append(self, value):
        pass

    def extend(self, values):
        pass


class _Skeleton(pickle.Unpickler):
    """Reads the structure of a legacy torch pickle without importing or running anything: each
    global becomes an inert class named after it; the storages' persistent ids are collected."""

    def __init__(self, file):
        super().__init__(file)
        self.storages: dict[str, str] = {}  # key -> storage class name

    def find_class(self, module, name):
        return type(name, (_Inert,), {'_qualname': f'{module}.{name}'})

    def persistent_load(self, pid):
        if isinstance(pid, tuple) and len(pid) > 1 and pid[0] == 'module':  # a module's class
            return pid[1] if isinstance(pid[1], type) else _Inert
        if isinstance(pid, tuple) and len(pid) > 2 and pid[0] == 'storage':
            self.storages[str(pid[2])] = getattr(pid[1], '_qualname', str(pid[1]))
        return _Inert()


_STORAGE_ITEM_BYTES = {'Double': 8, 'Float': 4, 'Half': 2, 'BFloat16': 2, 'Long': 8, 'Int': 4,
                       'Short': 2, 'Char': 1, 'Byte': 1, 'Bool': 1, 'ComplexFloat': 8,
                       'ComplexDouble': 16}


def _check_legacy_torch(f, size: int) -> str | None:
    """The legacy torch.save format: pickled magic number, protocol, system info, the object,
    the sorted storage keys, then per storage an int64 element count and the raw elements."""
    if _NoGlobals(f).load() != _TORCH_LEGACY_MAGIC:
        return 'a pickle, but not one written by torch.save (no PyTorch magic number)'
    _NoGlobals(f).load(), _NoGlobals(f).load()  # protocol version, system info
    skeleton = _Skeleton(f)
    skeleton.load()
    keys = _NoGlobals(f).load()
    if not isinstance(keys, list):
        return 'a legacy PyTorch file without its list of storages'
    for key in keys:
        storage = skeleton.storages.get(str(key), '').rsplit('.', 1)[-1]
        item = _STORAGE_ITEM_BYTES.get(storage[:-len('Storage')] if storage.endswith('Storage') else '')
        head = f.read(8)
        if len(head) < 8:
            return f'a legacy PyTorch file that breaks off before storage {key} (truncated)'
        if item is None:
            return None  # a storage type not known here: its length cannot be checked
        f.seek(struct.unpack('<q', head)[0] * item, os.SEEK_CUR)
        if f.tell() > size:
            return (f'a legacy PyTorch file that breaks off inside storage {key}: '
                    f'{_size_text(f.tell() - size)} missing (truncated)')
    return None


_TORCH_LEGACY_MAGIC = 0x1950a86a20f9469cfc6c  # torch.serialization.MAGIC_NUMBER
_TF_TABLE_MAGIC = struct.pack('<Q', 0xdb4775248b80fb57)  # last 8 bytes of a TF table (.index)


def _check_torch(path: Path) -> str | None:
    """A torch.save file: a zip with data.pkl (PyTorch >= 1.6), or the legacy format, whose
    pickle is read with every class replaced by an inert stand-in (nothing is imported or run)."""
    with open(path, 'rb') as f:
        head = f.read(4)
        if head.startswith(b'PK\x03\x04'):
            try:
                with zipfile.ZipFile(path) as archive:
                    if not any(n == 'data.pkl' or n.endswith('/data.pkl') for n in archive.namelist()):
                        return 'a zip file without data.pkl'
                    broken = archive.testzip()
            except (zipfile.BadZipFile, zlib.error, OSError, EOFError, ValueError) as error:
                return f'a broken or truncated zip file ({error})'
            return None if broken is None else f'member {broken!r} fails its CRC check (truncated or corrupt)'
        if not (head[:1] == b'\x80' and 2 <= head[1] <= 5):
            return f'neither a zip file nor a pickle (it starts with {head!r})'
        f.seek(0)
        try:
            return _check_legacy_torch(f, path.stat().st_size)
        except Exception as error:  # noqa: BLE001 (any parse failure means a broken file)
            return f'a legacy PyTorch file that breaks off or is corrupt ({type(error).__name__}: {error})'


def _check_tar(path: Path, magic: bytes, mode: str, name: str) -> str | None:
    with open(path, 'rb') as f:
        head = f.read(len(magic))
    if head != magic:
        return f'no {name} header (it starts with {head!r})'
    try:
        with tarfile.open(path, mode) as archive:
            first = archive.next()
    except (tarfile.TarError, OSError, EOFError, zlib.error, ValueError) as error:
        return f'its first tar entry cannot be read ({error})'
    return None if first is not None else 'an archive without any entry'


def _check_magenta_bundle(path: Path) -> str | None:
    """A GeneratorBundle (note_seq's generator.proto) with a generator id, checkpoint and metagraph."""
    try:
        with warnings.catch_warnings():  # pydub, imported by note_seq, warns about ffmpeg
            warnings.simplefilter('ignore')
            from google.protobuf.message import DecodeError
            from note_seq.protobuf import generator_pb2
    except ImportError:
        return None  # note_seq is not installed: the generic checks are all that can be done
    bundle = generator_pb2.GeneratorBundle()
    try:
        bundle.ParseFromString(path.read_bytes())
    except (DecodeError, ValueError, RuntimeError) as error:
        return f'it does not parse as a GeneratorBundle protobuf ({error})'
    missing = [name for name, present in (('generator id', bundle.generator_details.id),
                                          ('checkpoint', bundle.checkpoint_file),
                                          ('metagraph', bundle.metagraph_file)) if not present]
    return f'a GeneratorBundle without {" or ".join(missing)}' if missing else None


def _check_tf_index(path: Path) -> str | None:
    """A TensorFlow checkpoint index is a table file: it ends with a 48-byte footer whose last
    8 bytes are the table magic number."""
    size = path.stat().st_size
    if size < 48:
        return f'too short for a TensorFlow table ({size} bytes; the footer alone has 48)'
    with open(path, 'rb') as f:
        f.seek(size - 8)
        if f.read(8) != _TF_TABLE_MAGIC:
            return 'no TensorFlow table footer at its end (truncated, or another kind of file)'
    return None


def _check_tf_metagraph(path: Path) -> str | None:
    """A MetaGraphDef protobuf (tf.train.export_meta_graph) that parses and holds a graph."""
    if 'tensorflow' not in sys.modules:
        env.quiet_tensorflow()  # imports triton first where needed, and keeps the C++ log quiet
    try:
        from google.protobuf.message import DecodeError
        from tensorflow.core.protobuf import meta_graph_pb2
    except ImportError:
        return None  # TensorFlow is not installed: the generic checks are all that can be done
    graph = meta_graph_pb2.MetaGraphDef()
    try:
        graph.ParseFromString(path.read_bytes())
    except (DecodeError, ValueError, RuntimeError) as error:
        return f'it does not parse as a MetaGraphDef protobuf ({error})'
    return None if graph.graph_def.node else 'a MetaGraphDef without any graph node'


def _check_wav(path: Path) -> str | None:
    size = path.stat().st_size
    with open(path, 'rb') as f:
        head = f.read(12)
    if len(head) < 12 or head[:4] != b'RIFF' or head[8:12] != b'WAVE':
        return f'no RIFF/WAVE header (it starts with {head[:12]!r})'
    announced = struct.unpack('<I', head[4:8])[0] + 8
    return None if size >= announced else f'truncated: its header announces {announced} bytes, it has {size}'


@dataclass(frozen=True)
class Kind:
    """What a registered file must be: ``what`` for messages, ``check`` returns None or the problem."""
    what: str
    check: Callable[[Path], str | None] | None


KINDS: dict[str, Kind] = {
    'tar.gz': Kind('a gzip-compressed tar archive',
                   lambda p: _check_tar(p, b'\x1f\x8b', 'r:gz', 'gzip')),
    'tar.bz2': Kind('a bzip2-compressed tar archive',
                    lambda p: _check_tar(p, b'BZh', 'r:bz2', 'bzip2')),
    'torch': Kind('a PyTorch checkpoint (zip or legacy pickle)', _check_torch),
    'magenta_bundle': Kind('a Magenta GeneratorBundle (.mag)', _check_magenta_bundle),
    'tf_index': Kind('a TensorFlow checkpoint index', _check_tf_index),
    'tf_data': Kind('TensorFlow checkpoint weights', None),  # raw tensor bytes: no structure to check
    'tf_metagraph': Kind('a TensorFlow MetaGraphDef (inference graph)', _check_tf_metagraph),
    'wav': Kind('a WAV file', _check_wav),
}


def content_problem(path: str | os.PathLike, kind: str | None = None, *,
                    what: str | None = None) -> str | None:
    """None when the file at ``path`` looks like what ``kind`` (a key of KINDS) says it is; else
    what it is instead, e.g. "an HTML page of 4 kB (title 'Error'), not a PyTorch checkpoint: the
    link may have expired...". Every kind refuses an empty file and an HTML page."""
    path = Path(path)
    if kind is not None and kind not in KINDS:
        raise ValueError(f'unknown kind {kind!r}; known kinds: {", ".join(KINDS)}')
    what = what or (KINDS[kind].what if kind else 'the expected file')
    size = path.stat().st_size
    if size == 0:
        return f'an empty file (0 bytes), not {what}'
    with open(path, 'rb') as f:
        head = f.read(1 << 16)
    if _looks_like_html(head):
        return _html_phrase(head, size, what)
    check = KINDS[kind].check if kind else None
    detail = check(path) if check else None
    return None if detail is None else f'a file of {_size_text(size)} that is not {what}: {detail}'


# --------------------------------------------------------------------------------------
# The registry
# --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Asset:
    """One downloadable file of the project. ``subdir`` is 'data' or 'checkpoints'; ``kind`` (a
    key of KINDS) says what its content must be; ``mirrors`` are tried, in order, after ``url``."""
    name: str
    url: str
    filename: str
    size: int | None
    sha256: str | None
    license: str
    subdir: str
    description: str
    kind: str | None = None
    mirrors: tuple[str, ...] = ()

    @property
    def urls(self) -> tuple[str, ...]:
        """Every URL it can be had from, the first to try first."""
        return (self.url, *self.mirrors)

    @property
    def path(self) -> Path:
        """Where fetch_asset keeps this file by default."""
        base = {'data': env.DATA_DIR, 'checkpoints': env.CHECKPOINT_DIR}.get(self.subdir)
        if base is None:
            raise ValueError(f'asset {self.name!r} has unknown subdir {self.subdir!r}')
        return base / self.filename


# Speech Commands: Google's storage bucket 'download.tensorflow.org', over https as
# storage.googleapis.com serves it (torchaudio's earlier SPEECHCOMMANDS and google-research's
# kws_streaming use this form); the plain-http name the dataset was announced with is the mirror.
_TF_DATA = 'https://storage.googleapis.com/download.tensorflow.org/data/'
_TF_DATA_HTTP = 'http://download.tensorflow.org/data/'


def _speech_commands(version: str, size: int, sha256: str, words: int, about: str) -> Asset:
    filename = f'speech_commands_{version}.tar.gz'
    return Asset(f'speech_commands_{version}', _TF_DATA + filename, filename, size, sha256,
                 'CC BY 4.0', 'data',
                 f'Speech Commands {version}: one-second 16 kHz clips of {words} spoken words{about} '
                 '(notebook 1)', 'tar.gz', (_TF_DATA_HTTP + filename,))


def _wavegan(dataset: str, label: str) -> list[Asset]:
    base = 'https://s3.amazonaws.com/wavegan-v1/models/'
    files = [('index', f'{dataset}.ckpt.index', 'checkpoint index', 'tf_index'),
             ('data', f'{dataset}.ckpt.data-00000-of-00001', 'checkpoint weights', 'tf_data'),
             ('meta', f'{dataset}_infer.meta', 'inference graph (MetaGraphDef)', 'tf_metagraph')]
    # No published size or hash: trusted on first use (see checkpoints/README.md).
    return [Asset(f'wavegan_{dataset}_{key}', base + filename, filename, None, None,
                  'MIT (chrisdonahue/wavegan)', 'checkpoints',
                  f'WaveGAN trained on {label}: {what} (TF1 checkpoint, notebook 2)', kind)
            for key, filename, what, kind in files]


def _melody_rnn(config: str) -> Asset:
    # Magenta documents http://download.magenta.tensorflow.org/models/<config>.mag; that host is
    # Google's storage bucket of the same name, served over https by storage.googleapis.com (as
    # magenta's own arbitrary_image_stylization README links it). No published hash: trusted on
    # first use (see checkpoints/README.md).
    return Asset(f'melody_rnn_{config}',
                 f'https://storage.googleapis.com/download.magenta.tensorflow.org/models/{config}.mag',
                 f'{config}.mag', None, None, 'Apache-2.0 (Magenta)', 'checkpoints',
                 f'Magenta MelodyRNN {config} bundle (GeneratorBundle with a V1 checkpoint, notebook 3)',
                 'magenta_bundle', (f'http://download.magenta.tensorflow.org/models/{config}.mag',))


ASSETS: dict[str, Asset] = {asset.name: asset for asset in [
    # Size: the Content-Length download.tensorflow.org sends; SHA-256: torchaudio's SPEECHCOMMANDS.
    _speech_commands('v0.01', 1_489_096_277,
                     '743935421bb51cccdb6bdd152e04c5c70274e935c82119ad7faeec31780d811d', 30, ''),
    # Warden 2018. Size and SHA-256: tensorflow/datasets url_checksums/speech_commands.txt; the
    # SHA-256 is also torchaudio's.
    _speech_commands('v0.02', 2_428_923_189,
                     'af14739ee7dc311471de98f5f9d2c9191b18aedfe957f4a6ff791c709868ff58', 35,
                     ', about 105,000 clips'),
    # Size and SHA-256: tensorflow/datasets url_checksums/ljspeech.txt; the SHA-256 is also
    # torchaudio's LJSPEECH.
    Asset('ljspeech_1.1',
          'https://data.keithito.com/data/speech/LJSpeech-1.1.tar.bz2',
          'LJSpeech-1.1.tar.bz2', 2_748_572_632,
          'be1a30453f28eb8dd26af4101ae40cbf2c50413b1bb21936cbcdc6fae3de8aa5',
          'Public domain', 'data',
          'LJ Speech 1.1: 13,100 clips of one speaker reading, 22.05 kHz (notebook 2)', 'tar.bz2'),
    # Dropbox returns an HTML preview page unless dl=1 asks for the file itself; the book's
    # recipe leaves it out. No published hash: trusted on first use (see checkpoints/README.md).
    Asset('dctts_text2mel_ljspeech',
          'https://www.dropbox.com/s/4t13ugxzzgnocbj/step-300K.pth?dl=1',
          'ljspeech-text2mel.pth', None, None,
          'released by tugstugi/pytorch-dc-tts (no separate licence for the weights)', 'checkpoints',
          'DC-TTS Text2Mel trained on LJ Speech, 300k steps: a whole pickled nn.Module (notebook 2)',
          'torch'),
    Asset('dctts_ssrn_ljspeech',
          'https://www.dropbox.com/s/gw4aqrgcvccmg0g/step-100K.pth?dl=1',
          'ljspeech-ssrn.pth', None, None,
          'released by tugstugi/pytorch-dc-tts (no separate licence for the weights)', 'checkpoints',
          'DC-TTS SSRN trained on LJ Speech, 100k steps: a whole pickled nn.Module (notebook 2)',
          'torch'),
    *_wavegan('timit', 'TIMIT speech'),
    *_wavegan('sc09', 'SC09 spoken digits'),
    _melody_rnn('basic_rnn'),
    _melody_rnn('mono_rnn'),
    _melody_rnn('lookback_rnn'),
    _melody_rnn('attention_rnn'),
]}


# --------------------------------------------------------------------------------------
# Downloads
# --------------------------------------------------------------------------------------

def sha256sum(path: str | os.PathLike) -> str:
    """Hex SHA-256 of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, 'rb') as f:
        for chunk in iter(lambda: f.read(1 << 20), b''):
            digest.update(chunk)
    return digest.hexdigest()


def _verify_problem(path: Path, sha256: str | None, size: int | None,
                    source: str = '') -> str | None:
    """None when the file matches the expected size and hash, else what is wrong."""
    actual_size = path.stat().st_size
    if size is not None and actual_size != size:
        short = ' (truncated)' if actual_size < size else ''
        return f'size mismatch: expected {size} bytes{source}, got {actual_size}{short}'
    if sha256 is not None:
        actual = sha256sum(path)
        if actual.lower() != sha256.lower():
            return f'SHA-256 mismatch: expected {sha256.lower()}{source}, got {actual}'
    return None


def _manual_hint(dest: Path) -> str:
    return f'To use a copy downloaded by other means, place it at {dest}'


class _Restart(Exception):
    """The server cannot continue the partial file; start again from byte 0."""


def _part_info(part: Path) -> Path:
    """Beside a partial file: its URL and the server's validator (ETag or Last-Modified), sent
    as If-Range when resuming, so that a file changed on the server is fetched whole again
    instead of being spliced onto the old part."""
    return part.with_name(part.name + '.json')


def _drop_part(part: Path) -> None:
    part.unlink(missing_ok=True)
    _part_info(part).unlink(missing_ok=True)


class _Failure(Exception):
    """One URL failed; ``keep_part``: the partial file is still good for resuming."""

    def __init__(self, reason: str, keep_part: bool = False):
        super().__init__(reason)
        self.reason, self.keep_part = reason, keep_part


def _stream_to_part(url: str, part: Path, offset: int, progress: bool, timeout: float,
                    what: str) -> None:
    """Append (offset > 0) or write the response body to ``part``; raise _Failure or _Restart."""
    headers = {'User-Agent': 'audio-cookbook (+' + REPO_URL + ')'}
    if offset:
        headers['Range'] = f'bytes={offset}-'
        try:
            validator = json.loads(_part_info(part).read_text()).get('validator')
        except (OSError, ValueError, AttributeError):
            validator = None  # no record of what the part came from: resume without If-Range
        if isinstance(validator, str) and validator:
            headers['If-Range'] = validator
    request = urllib.request.Request(url, headers=headers)
    try:
        response = urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as error:
        error.close()
        if error.code == 416 and offset:  # the partial file does not fit the remote file
            raise _Restart() from None
        raise _Failure(f'HTTP {error.code} {error.reason}', keep_part=True) from None
    except (urllib.error.URLError, OSError, http.client.HTTPException) as error:
        reason = getattr(error, 'reason', error)
        raise _Failure(f'network error: {reason}', keep_part=True) from None

    with response:
        content_type = response.headers.get('Content-Type', '').split(';')[0].strip().lower()
        if content_type == 'text/html':  # never written to the partial file
            try:
                body = response.read(1 << 20)
            except (OSError, http.client.HTTPException):
                body = b''
            raise _Failure(f'it answered with {_html_phrase(body, len(body), what, len(body) == 1 << 20)} '
                           '(Content-Type text/html); nothing was kept')
        if offset and response.status == 206:
            content_range = response.headers.get('Content-Range', '')
            if not content_range.startswith(f'bytes {offset}-'):
                raise _Restart()
            mode = 'ab'
        else:
            offset, mode = 0, 'wb'  # the server ignored Range, or the file changed: start over
            etag = response.headers.get('ETag', '')
            validator = etag if etag and not etag.startswith('W/') else response.headers.get('Last-Modified')
            if validator:
                _part_info(part).write_text(json.dumps({'url': url, 'validator': validator}))
            else:
                _part_info(part).unlink(missing_ok=True)
        length = response.headers.get('Content-Length')
        expected = int(length) if length and length.isdigit() else None
        received = 0
        from tqdm.auto import tqdm
        with open(part, mode) as f, tqdm(total=None if expected is None else offset + expected,
                                         initial=offset, unit='B', unit_scale=True,
                                         unit_divisor=1024, desc=part.name[:-len('.part')],
                                         disable=not progress) as bar:
            lost = None
            while True:
                try:
                    chunk = response.read(1 << 20)
                except (OSError, http.client.HTTPException) as error:
                    lost = f'connection lost after {offset + received} bytes ({error!r})'
                    break
                if not chunk:
                    break
                f.write(chunk)  # a full disk raises OSError here, and the part stays for resuming
                received += len(chunk)
                bar.update(len(chunk))
            # http.client returns a short body without complaint when the peer closes early.
            if lost is None and expected is not None and received != expected:
                lost = f'connection closed after {offset + received} of {offset + expected} bytes'
    if lost is not None:
        problem = content_problem(part, what=what) if part.stat().st_size else None
        if problem is not None:  # a partial HTML page is not worth resuming
            raise _Failure(f'{lost}; it answered with {problem}')
        raise _Failure(f'{lost}; partial data kept in {part}, a later call resumes from there',
                       keep_part=True)


def _fetch_one(url: str, part: Path, sha256: str | None, size: int | None, kind: str | None,
               progress: bool, timeout: float, source: str) -> None:
    """Get ``url`` into ``part`` (resuming what is there) and check it; raise _Failure."""
    what = KINDS[kind].what if kind else 'the expected file'
    offset = part.stat().st_size if part.is_file() else 0
    if size is not None and offset > size:
        _drop_part(part)
        offset = 0
    if not (size is not None and offset == size):  # a complete .part only needs checking
        try:
            _stream_to_part(url, part, offset, progress, timeout, what)
        except _Restart:
            _drop_part(part)
            try:
                _stream_to_part(url, part, 0, progress, timeout, what)
            except _Restart:
                raise _Failure('the server refused a download from byte 0') from None
    problem = content_problem(part, what=what)  # empty or HTML: said before any size mismatch
    problem = f'it answered with {problem}' if problem else None
    problem = problem or _verify_problem(part, None, size, source)
    if problem is None and kind is not None:
        problem = content_problem(part, kind)
        problem = f'it answered with {problem}' if problem else None
    problem = problem or _verify_problem(part, sha256, None, source)
    if problem is not None:
        raise _Failure(f'{problem}; nothing was kept')


def _download(urls: Sequence[str], dest: Path, sha256: str | None, size: int | None,
              kind: str | None, progress: bool, timeout: float, source: str = '') -> tuple[Path, str | None]:
    """The work of download(); also returns the URL that served the file (None: it was there)."""
    part = dest.with_name(dest.name + '.part')
    if dest.is_file():
        problem = _verify_problem(dest, sha256, size, source) or content_problem(dest, kind)
        if problem is None:
            return dest, None
        print(f'{dest} exists but fails verification ({problem}); downloading it again.')
        dest.unlink()
    dest.parent.mkdir(parents=True, exist_ok=True)
    failures = []
    for url in urls:
        try:
            _fetch_one(url, part, sha256, size, kind, progress, timeout, source)
        except _Failure as failure:
            if not failure.keep_part:
                _drop_part(part)
            failures.append((url, failure.reason))
            continue
        os.replace(part, dest)
        _part_info(part).unlink(missing_ok=True)
        return dest, url
    if len(failures) == 1:
        (url, reason), = failures
        raise DownloadError(f'Download of {url} failed: {reason}. {_manual_hint(dest)}')
    tried = '\n'.join(f'  {url}: {reason}' for url, reason in failures)
    raise DownloadError(f'Download of {dest.name} failed from each of its {len(failures)} URLs:\n'
                        f'{tried}\n{_manual_hint(dest)}')


def download(url: str | Sequence[str], dest: str | os.PathLike, sha256: str | None = None, *,
             size: int | None = None, kind: str | None = None, progress: bool = True,
             timeout: float = 60) -> Path:
    """Download ``url`` (or the first of several mirror URLs that works) to ``dest``; return ``dest``.

    The body streams into ``<dest>.part``; after a dropped connection a later call continues it
    with an HTTP Range request (and starts over if the server answers 200 instead of 206). Before
    the file moves to ``dest`` (os.replace) it is checked: an empty answer or an HTML page is
    refused, then the size, the content ``kind`` (a key of KINDS) and the SHA-256. Whatever is
    refused is deleted, so after any failure there is no file at ``dest`` and a rerun starts
    afresh; only a dropped connection keeps ``.part`` for resuming. With several URLs each is
    tried in order and the error lists every failure. An existing ``dest`` that passes the same
    checks is returned without any network access.
    """
    urls = [url] if isinstance(url, str) else list(url)
    if not urls:
        raise ValueError('download() needs at least one URL')
    return _download(urls, Path(dest), sha256, size, kind, progress, timeout)[0]


# --------------------------------------------------------------------------------------
# Trust on first use
# --------------------------------------------------------------------------------------

def record_path(path: str | os.PathLike) -> Path:
    """Where the size and SHA-256 of a file without a published hash are recorded."""
    path = Path(path)
    return path.with_name(path.name + '.download.json')


def _read_record(record: Path) -> dict | None:
    if not record.is_file():
        return None
    try:
        data = json.loads(record.read_text())
        if not (isinstance(data.get('size'), int) and re.fullmatch(r'[0-9a-f]{64}', data.get('sha256', ''))):
            raise ValueError('no size and SHA-256 in it')
    except (ValueError, OSError) as error:
        raise ChangedFileError(f'cannot read the download record {record} ({error}). Delete it: '
                               'the file beside it is then checked and recorded again') from None
    return data


def _write_record(path: Path, asset: Asset, url: str | None) -> None:
    from .files import atomic_path
    record = {
        'asset': asset.name, 'file': path.name, 'size': path.stat().st_size,
        'sha256': sha256sum(path), 'kind': asset.kind,
        'source': url or 'found in place (copied by hand, or downloaded before records were kept)',
        'recorded': datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M UTC'),
        'about': ('No SHA-256 is published for this file: this is the first copy that passed the '
                  'content check, and later uses must match it. Delete this record to trust the '
                  'file as it is now; delete both to download it again.'),
    }
    with atomic_path(record_path(path)) as tmp:
        tmp.write_text(json.dumps(record, indent=1) + '\n')


def _check_record(path: Path, record: dict, record_file: Path) -> None:
    problem = _verify_problem(path, record['sha256'], record['size'])
    if problem is not None:
        raise ChangedFileError(
            f'{path} has changed since it was first used: {problem} (recorded in {record_file} '
            f'on {record.get("recorded", "?")}, from {record.get("source", "?")}). If you replaced '
            f'it on purpose, delete {record_file} and the file is trusted as it is now; to '
            f'download it again, delete both {path} and {record_file}')


# --------------------------------------------------------------------------------------
# Registered files
# --------------------------------------------------------------------------------------

def fetch_asset(name: str, dest: str | os.PathLike | None = None) -> Path:
    """Return the checked local copy of a registered asset, downloading it when needed.

    ``dest`` defaults to DATA_DIR or CHECKPOINT_DIR (by the asset's subdir) / filename; a
    directory means <dest>/<filename>. A published size and SHA-256 are always checked. For an
    asset without a published SHA-256 the first copy that passes the content check is recorded
    (record_path: size and SHA-256) and later uses must match it, or ChangedFileError says what
    to delete. With the network off (COOKBOOK_FAST=1 or COOKBOOK_OFFLINE=1) a missing file
    raises OfflineError saying where to put a manual copy.
    """
    if name not in ASSETS:
        raise KeyError(f'unknown asset {name!r}; known assets: {", ".join(sorted(ASSETS))}')
    asset = ASSETS[name]
    path = asset.path if dest is None else Path(dest)
    if path.is_dir():
        path = path / asset.filename
    record_file = record_path(path)
    record = None if asset.sha256 else _read_record(record_file)
    if record is not None:
        sha256, size = record['sha256'], record['size']
        source = (f' (recorded in {record_file} when the first copy was used; delete that '
                  'record to trust a new copy)')
        if path.is_file():
            _check_record(path, record, record_file)
            return path
    else:
        sha256, size, source = asset.sha256, asset.size, ''
        if path.is_file() and (_verify_problem(path, sha256, size)
                               or content_problem(path, asset.kind)) is None:
            if asset.sha256 is None:
                _write_record(path, asset, None)
            return path
    if not env.network_allowed():
        why = 'COOKBOOK_FAST=1 (fast mode)' if env.is_fast() else 'COOKBOOK_OFFLINE=1'
        state = 'no copy exists there'
        if path.is_file():
            problem = _verify_problem(path, sha256, size) or content_problem(path, asset.kind)
            state = f'the file there fails verification ({problem})'
        raise OfflineError(f'{name}: not downloading {asset.url} because network access is off '
                           f'({why}), and {state}. {_manual_hint(path)}')
    path, url = _download(asset.urls, path, sha256, size, asset.kind, True, 60, source)
    if asset.sha256 is None and record is None:
        _write_record(path, asset, url)
    return path


def fetch_or_explain(names: str | Sequence[str], load: Callable | None = None, *,
                     instead: str = ''):
    """The released file of asset ``names`` (or the list of files of several), or what ``load``
    makes of it (``load(path)``, or ``load(*paths)``); None, after a notice naming the file and
    the reason, when it cannot be had or ``load`` fails. ``instead`` ends the notice, e.g.
    'Continuing with the model trained above.'

    For notebook code that uses a released file when it can and its offline path otherwise.
    """
    single = isinstance(names, str)
    names = [names] if single else list(names)
    label = ', '.join(ASSETS[n].filename if n in ASSETS else repr(n) for n in names)
    tail = f' {instead}' if instead else ''
    try:
        paths = [fetch_asset(name) for name in names]
    except (DownloadError, KeyError, OSError) as error:  # OSError: e.g. a full disk
        reason = error.args[0] if isinstance(error, KeyError) else error
        env.notice(f'The released {label} is not available: {reason}.{tail}')
        return None
    if load is None:
        return paths[0] if single else paths
    try:
        return load(*paths)
    except Exception as error:  # noqa: BLE001 (any failure to read it: the notice names it)
        env.notice(f'The released {", ".join(map(str, paths))} could not be read '
                   f'({type(error).__name__}: {error}).{tail}')
        return None


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
