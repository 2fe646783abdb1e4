"""cookbook.fetch_asset against a local HTTP server (127.0.0.1) standing in for each real host.

What a bad host serves with status 200 (an HTML page: an expired or rate-limited Dropbox link, a
captive portal; an empty answer; a file cut short; another file than the first one) must be
refused with nothing left behind, so that a rerun tries again and succeeds once the host serves
the right file. Mirrors are tried in order; files without a published SHA-256 are trusted on
first use and checked against that record afterwards.
"""
import dataclasses
import hashlib
import http.server
import io
import json
import re
import tarfile
import threading
from pathlib import Path

import pytest

import cookbook
from cookbook import assets

SHIPPED_MAG = cookbook.CHECKPOINT_DIR / 'shipped' / 'folk_lookback_rnn.mag'

HTML = (b'<!DOCTYPE html>\n<html><head><title>Dropbox - 429 - Too many requests</title></head>'
        b'<body>' + b'<p>This link is temporarily disabled.</p>' * 93 + b'</body></html>')  # 4 kB


class _Host(http.server.BaseHTTPRequestHandler):
    """Serves server.routes[path] = (body, how, content type); how is 'file' (honours Range),
    'short' (half the body, with a Content-Length that says it is all) or 'drop' (announces the
    whole body, sends half, closes). Every answer has an ETag; a Range request whose If-Range
    names another ETag gets the whole file. Requests are recorded as (path, Range header), and
    their If-Range headers in server.if_range."""

    def log_message(self, *args):
        pass

    def do_GET(self):
        path = self.path.split('?')[0]
        self.server.requests.append((path, self.headers.get('Range')))
        self.server.if_range.append(self.headers.get('If-Range'))
        if path not in self.server.routes:
            self.send_error(404, 'Not Found')
            return
        body, how, content_type = self.server.routes[path]
        etag = f'"{hashlib.sha256(body).hexdigest()[:16]}"'
        start = 0
        match = re.fullmatch(r'bytes=(\d+)-', self.headers.get('Range') or '')
        if self.headers.get('If-Range', etag) != etag:
            match = None  # the file changed since the partial download: send all of it
        if how == 'file' and match and int(match.group(1)) < len(body):
            start = int(match.group(1))
            self.send_response(206)
            self.send_header('Content-Range', f'bytes {start}-{len(body) - 1}/{len(body)}')
        else:
            self.send_response(200)
        self.send_header('Content-Type', content_type)
        self.send_header('ETag', etag)
        if how == 'short':
            body = body[:len(body) // 2]
        self.send_header('Content-Length', str(len(body) - start))
        self.end_headers()
        if how == 'drop':
            self.wfile.write(body[:len(body) // 2])
            self.wfile.flush()
            self.close_connection = True
        else:
            self.wfile.write(body[start:])


@pytest.fixture
def host():
    """The local server; it shuts itself down after 120 s even if a test hangs."""
    httpd = http.server.ThreadingHTTPServer(('127.0.0.1', 0), _Host)
    httpd.daemon_threads = True
    httpd.routes, httpd.requests, httpd.if_range = {}, [], []
    httpd.url = f'http://127.0.0.1:{httpd.server_address[1]}'
    thread = threading.Thread(target=httpd.serve_forever, kwargs={'poll_interval': 0.02}, daemon=True)
    thread.start()
    watchdog = threading.Timer(120, httpd.shutdown)
    watchdog.daemon = True
    watchdog.start()
    try:
        yield httpd
    finally:
        watchdog.cancel()
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture
def folders(tmp_path, monkeypatch):
    monkeypatch.setattr(cookbook.env, 'DATA_DIR', tmp_path / 'data')
    monkeypatch.setattr(cookbook.env, 'CHECKPOINT_DIR', tmp_path / 'checkpoints')
    monkeypatch.delenv('COOKBOOK_FAST', raising=False)
    monkeypatch.delenv('COOKBOOK_OFFLINE', raising=False)
    return tmp_path


# ------------------------------------------------------------------ real files of each kind

def _legacy_torch_module(seed: int) -> bytes:
    """A whole pickled nn.Module in the legacy (PyTorch <= 1.5) format, like the DC-TTS files."""
    import torch
    torch.manual_seed(seed)
    module = torch.nn.Sequential(torch.nn.Conv1d(4, 8, 3), torch.nn.Linear(8, 2))
    buffer = io.BytesIO()
    torch.save(module, buffer, _use_new_zipfile_serialization=False)
    return buffer.getvalue()


def _tar(mode: str, text: bytes) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode=mode) as archive:
        for i in range(20):
            info = tarfile.TarInfo(f'dataset/clip{i}.txt')
            data = text * 200 + bytes([i])
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def _tf_index(seed: int) -> bytes:
    """Bytes ending with a TF table footer (what the index check looks at; the real format is
    checked against a TensorFlow-written index in test_cookbook_assets_content.py)."""
    return bytes([seed]) * 700 + b'\x00' * 40 + bytes.fromhex('57fb808b247547db')


# name of the registered asset -> (two different good files, whether a SHA-256 is published)
HOSTS = {
    'dctts_text2mel_ljspeech': lambda: (_legacy_torch_module(0), _legacy_torch_module(1)),   # Dropbox
    'melody_rnn_attention_rnn': lambda: (SHIPPED_MAG.read_bytes(),                          # Magenta
                                         SHIPPED_MAG.read_bytes().replace(b'folk', b'FOLK', 1)),
    'wavegan_timit_index': lambda: (_tf_index(1), _tf_index(2)),                           # S3
    'speech_commands_v0.02': lambda: (_tar('w:gz', b'yes'), _tar('w:gz', b'no')),          # Google
    'ljspeech_1.1': lambda: (_tar('w:bz2', b'text'), _tar('w:bz2', b'speech')),            # keithito
}
_FILES = {}


def _files(name):
    if name not in _FILES:
        _FILES[name] = HOSTS[name]()
    return _FILES[name]


def _stand_in(monkeypatch, host, name, *routes):
    """Point the registered asset at the local host (one route per URL); a published size and
    hash become those of the first good file."""
    asset = cookbook.ASSETS[name]
    urls = [f'{host.url}/{route}/{asset.filename}' for route in routes]
    changes = dict(url=urls[0], mirrors=tuple(urls[1:]))
    if asset.sha256 is not None:
        good = _files(name)[0]
        changes.update(sha256=hashlib.sha256(good).hexdigest(), size=len(good))
    monkeypatch.setitem(cookbook.ASSETS, name, dataclasses.replace(asset, **changes))
    return cookbook.ASSETS[name], urls


def _serve(host, url, body, how='file', content_type='application/octet-stream'):
    host.routes[url[len(host.url):]] = (body, how, content_type)


def _left_behind(asset):
    folder = asset.path.parent
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


BAD_ANSWERS = {
    'html page': (lambda good: HTML, 'file', 'application/octet-stream',
                  "an HTML page of 4 kB (title 'Dropbox - 429 - Too many requests')"),
    'html content type': (lambda good: b'Too many requests, try again later.', 'file',
                          'text/html; charset=utf-8', 'an HTML page of 35 bytes'),
    'empty': (lambda good: b'', 'file', 'application/octet-stream', 'an empty file (0 bytes)'),
    'truncated': (lambda good: good, 'short', 'application/octet-stream', None),
}


@pytest.mark.parametrize('name', HOSTS)
@pytest.mark.parametrize('answer', BAD_ANSWERS)
def test_bad_answer_refused_then_rerun_succeeds(host, folders, monkeypatch, name, answer):
    make_body, how, content_type, said = BAD_ANSWERS[answer]
    if answer == 'truncated' and cookbook.ASSETS[name].kind == 'magenta_bundle':
        pytest.importorskip('note_seq')  # a cut bundle is caught by parsing it with note_seq
    good = _files(name)[0]
    asset, (url,) = _stand_in(monkeypatch, host, name, 'host')
    _serve(host, url, make_body(good), how, content_type)
    with pytest.raises(cookbook.DownloadError) as info:
        cookbook.fetch_asset(name)
    message = str(info.value)
    assert url in message and str(asset.path) in message and 'nothing was kept' in message
    if said:
        assert said in message and f'not {assets.KINDS[asset.kind].what}' in message
    else:  # cut short: by the published size, else by what the file must be
        assert re.search(r'size mismatch: expected \d+ bytes, got \d+ \(truncated\)|'
                         r'breaks off|truncated|does not parse', message), message
    assert _left_behind(asset) == []  # no file, no .part, no record
    _serve(host, url, good)  # the host is fine again: a rerun downloads the file
    path = cookbook.fetch_asset(name)
    assert path == asset.path and path.read_bytes() == good
    assert _left_behind(asset) == ([path.name] if asset.sha256 else [path.name, path.name + '.download.json'])


@pytest.mark.parametrize('name', HOSTS)
def test_other_file_than_expected_refused(host, folders, monkeypatch, name):
    """A published hash, or the hash recorded from the first copy, refuses a different file."""
    first, other = _files(name)
    asset, (url,) = _stand_in(monkeypatch, host, name, 'host')
    if asset.sha256 is None:  # trust on first use: the first copy is recorded ...
        _serve(host, url, first)
        cookbook.fetch_asset(name).unlink()  # ... and deleted, so the next use downloads again
    _serve(host, url, other)
    with pytest.raises(cookbook.DownloadError) as info:
        cookbook.fetch_asset(name)
    message = str(info.value)
    assert 'SHA-256 mismatch' in message or 'size mismatch' in message
    assert url in message and str(asset.path) in message
    if asset.sha256 is None:
        assert 'recorded in' in message and 'delete that record to trust a new copy' in message
    assert not asset.path.exists() and not asset.path.with_name(asset.path.name + '.part').exists()
    _serve(host, url, first)
    assert cookbook.fetch_asset(name).read_bytes() == first


def test_dropped_connection_resumes(host, folders, monkeypatch):
    name = 'dctts_text2mel_ljspeech'
    good = _files(name)[0]
    asset, (url,) = _stand_in(monkeypatch, host, name, 'host')
    _serve(host, url, good, 'drop')
    with pytest.raises(cookbook.DownloadError, match='a later call resumes'):
        cookbook.fetch_asset(name)
    part = asset.path.with_name(asset.path.name + '.part')
    assert part.read_bytes() == good[:len(good) // 2] and not asset.path.exists()
    _serve(host, url, good)
    assert cookbook.fetch_asset(name).read_bytes() == good
    assert host.requests[-1] == (url[len(host.url):], f'bytes={len(good) // 2}-')
    assert host.if_range[-1] == f'"{hashlib.sha256(good).hexdigest()[:16]}"'
    assert _left_behind(asset) == [asset.filename, asset.filename + '.download.json']


def test_file_changed_on_the_server_is_fetched_whole_not_spliced(host, folders, monkeypatch):
    name = 'melody_rnn_attention_rnn'
    first, other = _files(name)
    asset, (url,) = _stand_in(monkeypatch, host, name, 'host')
    _serve(host, url, first, 'drop')
    with pytest.raises(cookbook.DownloadError, match='a later call resumes'):
        cookbook.fetch_asset(name)
    part = asset.path.with_name(asset.path.name + '.part')
    info = json.loads(part.with_name(part.name + '.json').read_text())
    etag = f'"{hashlib.sha256(first).hexdigest()[:16]}"'
    assert info == {'url': url, 'validator': etag}
    _serve(host, url, other)  # a new version on the server: resuming would splice two files
    assert cookbook.fetch_asset(name).read_bytes() == other
    assert host.requests[-1][1] == f'bytes={len(first) // 2}-' and host.if_range[-1] == etag
    assert _left_behind(asset) == [asset.filename, asset.filename + '.download.json']


def test_dropped_html_page_is_not_kept(host, folders, monkeypatch):
    name = 'melody_rnn_attention_rnn'
    asset, (url,) = _stand_in(monkeypatch, host, name, 'host')
    _serve(host, url, HTML, 'drop')
    with pytest.raises(cookbook.DownloadError, match='an HTML page of 2 kB'):
        cookbook.fetch_asset(name)
    assert _left_behind(asset) == []


# ------------------------------------------------------------------ mirrors

def test_mirrors_tried_in_order_first_good_copy_wins(host, folders, monkeypatch):
    name = 'melody_rnn_attention_rnn'
    good = _files(name)[0]
    asset, urls = _stand_in(monkeypatch, host, name, 'expired', 'gone', 'good', 'unused')
    _serve(host, urls[0], HTML)
    _serve(host, urls[2], good)
    _serve(host, urls[3], good)
    path = cookbook.fetch_asset(name)
    assert path.read_bytes() == good
    assert [request[0] for request in host.requests] == [url[len(host.url):] for url in urls[:3]]
    record = json.loads(assets.record_path(path).read_text())
    assert record['source'] == urls[2]


def test_every_mirror_failure_is_reported(host, folders, monkeypatch):
    name = 'speech_commands_v0.02'
    good = _files(name)[0]
    asset, urls = _stand_in(monkeypatch, host, name, 'one', 'two', 'three')
    _serve(host, urls[0], HTML)
    _serve(host, urls[2], good, 'short')
    with pytest.raises(cookbook.DownloadError) as info:
        cookbook.fetch_asset(name)
    lines = str(info.value).splitlines()
    assert lines[0] == 'Download of speech_commands_v0.02.tar.gz failed from each of its 3 URLs:'
    assert lines[1].startswith(f'  {urls[0]}: it answered with an HTML page of 4 kB')
    assert lines[2].startswith(f'  {urls[1]}: HTTP 404')
    assert lines[3].startswith(f'  {urls[2]}: size mismatch') and '(truncated)' in lines[3]
    assert lines[4] == f'To use a copy downloaded by other means, place it at {asset.path}'
    assert _left_behind(asset) == []


def test_resume_continues_from_the_next_mirror(host, folders, monkeypatch):
    name = 'ljspeech_1.1'
    good = _files(name)[0]
    asset, urls = _stand_in(monkeypatch, host, name, 'flaky', 'steady')
    _serve(host, urls[0], good, 'drop')
    _serve(host, urls[1], good)
    assert cookbook.fetch_asset(name).read_bytes() == good
    assert host.requests[-1] == (urls[1][len(host.url):], f'bytes={len(good) // 2}-')


# ------------------------------------------------------------------ trust on first use

def test_first_copy_recorded_and_later_uses_stay_offline(host, folders, monkeypatch):
    name = 'dctts_text2mel_ljspeech'
    good = _files(name)[0]
    asset, (url,) = _stand_in(monkeypatch, host, name, 'host')
    _serve(host, url, good)
    path = cookbook.fetch_asset(name)
    record = json.loads(assets.record_path(path).read_text())
    assert (record['size'], record['sha256']) == (len(good), hashlib.sha256(good).hexdigest())
    assert (record['asset'], record['kind'], record['source']) == (name, 'torch', url)
    monkeypatch.setenv('COOKBOOK_OFFLINE', '1')
    assert cookbook.fetch_asset(name) == path
    assert len(host.requests) == 1


def test_changed_file_refused_and_told_what_to_delete(host, folders, monkeypatch):
    name = 'wavegan_timit_index'
    first, other = _files(name)
    asset, (url,) = _stand_in(monkeypatch, host, name, 'host')
    _serve(host, url, first)
    path = cookbook.fetch_asset(name)
    path.write_bytes(other)  # valid kind, same size, other bytes
    record = assets.record_path(path)
    with pytest.raises(assets.ChangedFileError) as info:
        cookbook.fetch_asset(name)
    message = str(info.value)
    assert 'has changed since it was first used: SHA-256 mismatch' in message
    assert f'delete {record} and the file is trusted as it is now' in message
    assert f'delete both {path} and {record}' in message
    assert isinstance(info.value, cookbook.DownloadError) and path.read_bytes() == other
    record.unlink()  # as the message says: the file is now trusted as it is, and recorded again
    assert cookbook.fetch_asset(name) == path
    assert json.loads(record.read_text())['sha256'] == hashlib.sha256(other).hexdigest()
    assert len(host.requests) == 1


def test_html_saved_by_an_older_fetcher_is_replaced(host, folders, monkeypatch, capsys):
    name = 'dctts_text2mel_ljspeech'
    good = _files(name)[0]
    asset, (url,) = _stand_in(monkeypatch, host, name, 'host')
    _serve(host, url, good)
    asset.path.parent.mkdir(parents=True)
    asset.path.write_bytes(HTML)
    monkeypatch.setenv('COOKBOOK_OFFLINE', '1')
    with pytest.raises(cookbook.OfflineError, match=r'fails verification \(an HTML page of 4 kB'):
        cookbook.fetch_asset(name)
    monkeypatch.delenv('COOKBOOK_OFFLINE')
    assert cookbook.fetch_asset(name).read_bytes() == good
    assert 'exists but fails verification (an HTML page' in capsys.readouterr().out
    assert assets.record_path(asset.path).is_file()


def test_copy_placed_by_hand_is_checked_and_recorded(folders, monkeypatch):
    monkeypatch.setenv('COOKBOOK_OFFLINE', '1')
    asset = cookbook.ASSETS['melody_rnn_attention_rnn']
    asset.path.parent.mkdir(parents=True)
    asset.path.write_bytes(SHIPPED_MAG.read_bytes())
    assert cookbook.fetch_asset(asset.name) == asset.path
    record = json.loads(assets.record_path(asset.path).read_text())
    assert record['source'].startswith('found in place') and record['size'] == SHIPPED_MAG.stat().st_size


def test_unreadable_record_is_an_error(folders, monkeypatch):
    asset = cookbook.ASSETS['melody_rnn_attention_rnn']
    asset.path.parent.mkdir(parents=True)
    assets.record_path(asset.path).write_text('{"size": "many"}')
    with pytest.raises(assets.ChangedFileError, match='cannot read the download record .* Delete it'):
        cookbook.fetch_asset(asset.name)


# ------------------------------------------------------------------ the notebooks' helper

def test_fetch_or_explain_returns_the_file_or_load_result(host, folders, monkeypatch):
    name = 'dctts_text2mel_ljspeech'
    good = _files(name)[0]
    asset, (url,) = _stand_in(monkeypatch, host, name, 'host')
    _serve(host, url, good)
    assert assets.fetch_or_explain(name) == asset.path
    state = assets.fetch_or_explain(name, load=cookbook.load_pickled_module_state_dict)
    assert sorted(state) == ['0.bias', '0.weight', '1.bias', '1.weight']


def test_fetch_or_explain_gives_a_notice_when_the_file_cannot_be_had(folders, monkeypatch, capsys):
    monkeypatch.setenv('COOKBOOK_FAST', '1')
    result = assets.fetch_or_explain('melody_rnn_attention_rnn', load=pytest.fail,
                                     instead='Continuing with the shipped bundle.')
    out = capsys.readouterr().out
    assert result is None and out.startswith('NOTICE: The released attention_rnn.mag is not available')
    assert 'COOKBOOK_FAST=1' in out and out.rstrip().endswith('Continuing with the shipped bundle.')


def test_fetch_or_explain_gives_a_notice_when_the_file_cannot_be_read(host, folders, monkeypatch,
                                                                      capsys):
    import torch
    name = 'dctts_ssrn_ljspeech'
    buffer = io.BytesIO()
    torch.save([1, 2, 3], buffer)  # a valid PyTorch file, but no module and no state dict
    asset, (url,) = _stand_in(monkeypatch, host, name, 'host')
    _serve(host, url, buffer.getvalue())
    result = assets.fetch_or_explain(name, load=cookbook.load_pickled_module_state_dict,
                                     instead='Using the model trained above.')
    out = capsys.readouterr().out
    assert result is None
    assert f'NOTICE: The released {asset.path} could not be read (ValueError: ' in out
    assert 'expected a pickled nn.Module or a state dict' in out
    assert out.rstrip().endswith('Using the model trained above.')


def test_fetch_or_explain_several_files(host, folders, monkeypatch, capsys):
    names = ['wavegan_timit_index', 'wavegan_timit_data']
    for name in names:
        asset, (url,) = _stand_in(monkeypatch, host, name, 'host')
        _serve(host, url, _tf_index(3))
    paths = assets.fetch_or_explain(names)
    assert [Path(p).name for p in paths] == ['timit.ckpt.index', 'timit.ckpt.data-00000-of-00001']
    assert assets.fetch_or_explain(names, load=lambda index, data: (index.name, data.name)) == \
        ('timit.ckpt.index', 'timit.ckpt.data-00000-of-00001')
    assert assets.fetch_or_explain(['wavegan_timit_index', 'no_such_asset']) is None
    assert "'no_such_asset'" in capsys.readouterr().out
