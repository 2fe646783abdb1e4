"""cookbook.download / fetch_asset against a real HTTP server on 127.0.0.1 (loopback only)."""
import hashlib
import http.server
import re
import threading

import pytest

import cookbook
from cookbook import assets

BODY = bytes(range(256)) * 400  # 102,400 bytes
BODY_SHA = hashlib.sha256(BODY).hexdigest()


class _Handler(http.server.BaseHTTPRequestHandler):
    """Routes: /file (honours Range), /drop (closes half-way), /norange (ignores Range),
    /wrong (other bytes), anything else 404. Every request is recorded."""

    def log_message(self, *args):  # keep the test log quiet
        pass

    def do_GET(self):
        server = self.server
        record = {'path': self.path, 'range': self.headers.get('Range'), 'sent': 0}
        server.requests.append(record)
        path = self.path.split('?')[0]
        if path == '/file':
            start = 0
            match = re.fullmatch(r'bytes=(\d+)-', self.headers.get('Range') or '')
            if match:
                start = int(match.group(1))
                if start >= len(BODY):
                    self.send_response(416)
                    self.send_header('Content-Range', f'bytes */{len(BODY)}')
                    self.send_header('Content-Length', '0')
                    self.end_headers()
                    return
                self.send_response(206)
                self.send_header('Content-Range', f'bytes {start}-{len(BODY) - 1}/{len(BODY)}')
            else:
                self.send_response(200)
            self._send_body(BODY[start:], record)
        elif path == '/drop':
            self.send_response(200)
            self.send_header('Content-Length', str(len(BODY)))
            self.end_headers()
            half = BODY[:len(BODY) // 2]
            record['sent'] = len(half)  # before writing: the client may finish first
            self.wfile.write(half)
            self.wfile.flush()
            self.close_connection = True  # HTTP/1.0: the socket closes when we return
        elif path == '/norange':
            self.send_response(200)
            self._send_body(BODY, record)
        elif path == '/wrong':
            self.send_response(200)
            self._send_body(bytes(len(BODY)), record)
        else:
            self.send_error(404, 'Not Found')

    def _send_body(self, body, record):
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        record['sent'] = len(body)  # before writing: the client may finish first
        self.wfile.write(body)


@pytest.fixture
def server():
    httpd = http.server.ThreadingHTTPServer(('127.0.0.1', 0), _Handler)
    httpd.requests = []
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, kwargs={'poll_interval': 0.02},
                              daemon=True)
    thread.start()
    httpd.url = f'http://127.0.0.1:{httpd.server_address[1]}'
    try:
        yield httpd
    finally:
        httpd.shutdown()
        httpd.server_close()


def _part(dest):
    return dest.with_name(dest.name + '.part')


def _get(server, dest, route='/file', **kwargs):
    kwargs.setdefault('progress', False)
    kwargs.setdefault('timeout', 5)
    return cookbook.download(server.url + route, dest, **kwargs)


def test_normal_download_verifies_and_renames(server, tmp_path):
    dest = tmp_path / 'sub' / 'file.bin'
    result = _get(server, dest, sha256=BODY_SHA, size=len(BODY))
    assert result == dest and dest.read_bytes() == BODY
    assert not _part(dest).exists()
    assert len(server.requests) == 1 and server.requests[0]['range'] is None


def test_progress_bar_is_shown(server, tmp_path, capsys):
    _get(server, tmp_path / 'file.bin', sha256=BODY_SHA, progress=True)
    err = capsys.readouterr().err
    assert 'file.bin' in err and '100' in err


def test_existing_verified_file_is_not_downloaded_again(server, tmp_path):
    dest = tmp_path / 'file.bin'
    dest.write_bytes(BODY)
    assert _get(server, dest, sha256=BODY_SHA) == dest
    assert server.requests == []


def _assert_error_names(error, url, reason, dest):
    """A failed download says which URL, why, and where a manual copy can go."""
    message = str(error)
    assert url in message and reason in message and str(dest) in message


def test_existing_corrupt_file_is_replaced(server, tmp_path, capsys):
    dest = tmp_path / 'file.bin'
    dest.write_bytes(b'junk')
    _get(server, dest, sha256=BODY_SHA)
    assert dest.read_bytes() == BODY and len(server.requests) == 1
    assert 'fails verification' in capsys.readouterr().out


def test_dropped_connection_keeps_part_and_leaves_no_dest(server, tmp_path):
    dest = tmp_path / 'file.bin'
    url = server.url + '/drop'
    with pytest.raises(cookbook.DownloadError) as info:
        _get(server, dest, '/drop', sha256=BODY_SHA)
    _assert_error_names(info.value, url, 'connection closed', dest)
    assert not dest.exists()
    assert _part(dest).read_bytes() == BODY[:len(BODY) // 2]


def test_resume_fetches_only_the_rest_with_range(server, tmp_path):
    dest = tmp_path / 'file.bin'
    with pytest.raises(cookbook.DownloadError):
        _get(server, dest, '/drop', sha256=BODY_SHA)
    half = len(BODY) // 2
    assert _part(dest).stat().st_size == half
    _get(server, dest, '/file', sha256=BODY_SHA, size=len(BODY))
    second = server.requests[-1]
    assert second['range'] == f'bytes={half}-'
    assert second['sent'] == len(BODY) - half
    assert dest.read_bytes() == BODY and not _part(dest).exists()


def test_server_ignoring_range_restarts_cleanly(server, tmp_path):
    dest = tmp_path / 'file.bin'
    _part(dest).write_bytes(b'X' * 1000)  # stale partial data that must not be kept
    _get(server, dest, '/norange', sha256=BODY_SHA)
    assert server.requests[0]['range'] == 'bytes=1000-'
    assert dest.read_bytes() == BODY and not _part(dest).exists()


def test_unsatisfiable_range_restarts(server, tmp_path):
    dest = tmp_path / 'file.bin'
    _part(dest).write_bytes(BODY + b'extra')  # longer than the remote file: 416
    _get(server, dest, sha256=BODY_SHA)
    assert [r['range'] for r in server.requests] == [f'bytes={len(BODY) + 5}-', None]
    assert dest.read_bytes() == BODY


def test_checksum_mismatch_deletes_everything(server, tmp_path):
    dest = tmp_path / 'file.bin'
    url = server.url + '/wrong'
    with pytest.raises(cookbook.DownloadError) as info:
        _get(server, dest, '/wrong', sha256=BODY_SHA)
    _assert_error_names(info.value, url, 'SHA-256 mismatch', dest)
    assert not dest.exists() and not _part(dest).exists()


def test_size_mismatch_is_refused(server, tmp_path):
    dest = tmp_path / 'file.bin'
    with pytest.raises(cookbook.DownloadError, match='size mismatch'):
        _get(server, dest, size=len(BODY) + 1)
    assert not dest.exists() and not _part(dest).exists()


def test_http_error_names_url_reason_and_manual_path(server, tmp_path):
    dest = tmp_path / 'file.bin'
    with pytest.raises(cookbook.DownloadError) as info:
        _get(server, dest, '/missing', sha256=BODY_SHA)
    _assert_error_names(info.value, server.url + '/missing', '404', dest)
    assert not dest.exists() and not _part(dest).exists()


def test_network_error_leaves_no_file(tmp_path):
    probe = http.server.HTTPServer(('127.0.0.1', 0), _Handler)
    port = probe.server_address[1]
    probe.server_close()  # nothing listens there any more: connection refused
    dest = tmp_path / 'file.bin'
    url = f'http://127.0.0.1:{port}/file'
    with pytest.raises(cookbook.DownloadError) as info:
        cookbook.download(url, dest, BODY_SHA, progress=False, timeout=5)
    assert url in str(info.value) and 'network error' in str(info.value)
    assert not dest.exists()


def test_sha256sum(tmp_path):
    path = tmp_path / 'x'
    path.write_bytes(BODY)
    assert cookbook.sha256sum(path) == BODY_SHA


# ------------------------------------------------------------------------------ registry

REQUIRED_ASSETS = [
    'speech_commands_v0.01', 'speech_commands_v0.02', 'ljspeech_1.1', 'dctts_text2mel_ljspeech', 'dctts_ssrn_ljspeech',
    'wavegan_timit_index', 'wavegan_timit_data', 'wavegan_timit_meta', 'wavegan_sc09_index',
    'wavegan_sc09_data', 'wavegan_sc09_meta', 'melody_rnn_basic_rnn', 'melody_rnn_mono_rnn', 'melody_rnn_lookback_rnn',
    'melody_rnn_attention_rnn']


def test_registry_holds_the_real_assets():
    assert sorted(cookbook.ASSETS) == sorted(REQUIRED_ASSETS)
    speech = cookbook.ASSETS['speech_commands_v0.01']
    assert speech.urls == (
        'https://storage.googleapis.com/download.tensorflow.org/data/speech_commands_v0.01.tar.gz',
        'http://download.tensorflow.org/data/speech_commands_v0.01.tar.gz')
    assert speech.size == 1489096277
    assert speech.sha256 == '743935421bb51cccdb6bdd152e04c5c70274e935c82119ad7faeec31780d811d'
    assert speech.license == 'CC BY 4.0' and speech.path == cookbook.DATA_DIR / speech.filename
    assert speech.kind == 'tar.gz'
    # Published by torchaudio (SHA-256) and tensorflow/datasets' url_checksums (both).
    v2 = cookbook.ASSETS['speech_commands_v0.02']
    assert (v2.size, v2.sha256) == (
        2428923189, 'af14739ee7dc311471de98f5f9d2c9191b18aedfe957f4a6ff791c709868ff58')
    assert v2.url == ('https://storage.googleapis.com/download.tensorflow.org/data/'
                      'speech_commands_v0.02.tar.gz')
    ljspeech = cookbook.ASSETS['ljspeech_1.1']
    assert (ljspeech.size, ljspeech.kind) == (2748572632, 'tar.bz2')
    assert cookbook.ASSETS['ljspeech_1.1'].url == \
        'https://data.keithito.com/data/speech/LJSpeech-1.1.tar.bz2'
    assert cookbook.ASSETS['dctts_text2mel_ljspeech'].url == \
        'https://www.dropbox.com/s/4t13ugxzzgnocbj/step-300K.pth?dl=1'
    assert cookbook.ASSETS['dctts_ssrn_ljspeech'].url == \
        'https://www.dropbox.com/s/gw4aqrgcvccmg0g/step-100K.pth?dl=1'
    assert cookbook.ASSETS['wavegan_sc09_meta'].url == \
        'https://s3.amazonaws.com/wavegan-v1/models/sc09_infer.meta'
    assert cookbook.ASSETS['wavegan_timit_data'].url == \
        'https://s3.amazonaws.com/wavegan-v1/models/timit.ckpt.data-00000-of-00001'
    assert cookbook.ASSETS['melody_rnn_attention_rnn'].urls == (
        'https://storage.googleapis.com/download.magenta.tensorflow.org/models/attention_rnn.mag',
        'http://download.magenta.tensorflow.org/models/attention_rnn.mag')
    for name, asset in cookbook.ASSETS.items():
        assert asset.name == name
        assert asset.url.startswith('https://'), f'{name}: the first URL tried must be https'
        assert asset.kind in assets.KINDS, f'{name}: no content check'
        assert asset.sha256 is None or re.fullmatch(r'[0-9a-f]{64}', asset.sha256)
        assert asset.subdir in ('data', 'checkpoints') and asset.license and asset.description
        assert asset.path.parent == (cookbook.DATA_DIR if asset.subdir == 'data'
                                     else cookbook.CHECKPOINT_DIR)


@pytest.fixture
def local_asset(server, tmp_path, monkeypatch):
    """A registry entry served by the test server; DATA_DIR moved into tmp_path."""
    monkeypatch.setattr(cookbook.env, 'DATA_DIR', tmp_path / 'data')
    asset = cookbook.Asset('test_asset', server.url + '/file', 'test.bin', len(BODY), BODY_SHA,
                           'CC0', 'data', 'test file')
    monkeypatch.setitem(cookbook.ASSETS, 'test_asset', asset)
    monkeypatch.delenv('COOKBOOK_FAST', raising=False)
    monkeypatch.delenv('COOKBOOK_OFFLINE', raising=False)
    return asset


def test_fetch_asset_downloads_once_into_data_dir(server, local_asset, tmp_path):
    path = cookbook.fetch_asset('test_asset')
    assert path == tmp_path / 'data' / 'test.bin' and path.read_bytes() == BODY
    assert cookbook.fetch_asset('test_asset') == path
    assert len(server.requests) == 1


def test_fetch_asset_custom_dest_directory(server, local_asset, tmp_path):
    folder = tmp_path / 'elsewhere'
    folder.mkdir()
    assert cookbook.fetch_asset('test_asset', folder) == folder / 'test.bin'
    assert cookbook.fetch_asset('test_asset', folder / 'named.bin').read_bytes() == BODY


@pytest.mark.parametrize('variable', ['COOKBOOK_FAST', 'COOKBOOK_OFFLINE'])
def test_fetch_asset_offline_error(server, local_asset, tmp_path, monkeypatch, variable):
    monkeypatch.setenv(variable, '1')
    with pytest.raises(cookbook.OfflineError) as info:
        cookbook.fetch_asset('test_asset')
    message = str(info.value)
    assert local_asset.url in message and f'{variable}=1' in message
    assert str(tmp_path / 'data' / 'test.bin') in message
    assert isinstance(info.value, cookbook.DownloadError)
    assert server.requests == [] and not (tmp_path / 'data' / 'test.bin').exists()


def test_fetch_asset_offline_uses_verified_manual_copy(server, local_asset, tmp_path,
                                                       monkeypatch):
    monkeypatch.setenv('COOKBOOK_FAST', '1')
    manual = tmp_path / 'data' / 'test.bin'
    manual.parent.mkdir()
    manual.write_bytes(BODY)
    assert cookbook.fetch_asset('test_asset') == manual
    manual.write_bytes(b'tampered')
    with pytest.raises(cookbook.OfflineError, match='fails verification'):
        cookbook.fetch_asset('test_asset')
    assert server.requests == []


def test_fetch_asset_real_registry_offline_names_checkpoint_dir(monkeypatch, tmp_path):
    monkeypatch.setenv('COOKBOOK_OFFLINE', '1')
    monkeypatch.setattr(cookbook.env, 'CHECKPOINT_DIR', tmp_path)
    with pytest.raises(cookbook.OfflineError) as info:
        cookbook.fetch_asset('dctts_ssrn_ljspeech')
    assert str(tmp_path / 'ljspeech-ssrn.pth') in str(info.value)
    assert 'https://www.dropbox.com/s/gw4aqrgcvccmg0g/step-100K.pth?dl=1' in str(info.value)


def test_fetch_asset_unknown_name_lists_known_names():
    with pytest.raises(KeyError) as info:
        cookbook.fetch_asset('no_such_asset')
    assert 'no_such_asset' in str(info.value) and 'speech_commands_v0.01' in str(info.value)
