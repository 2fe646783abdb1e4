"""cookbook.tts_data: checkpoint location, LJSpeech location and extraction, metadata, the
spectrogram cache and resumable training checkpoints (notebook 2's plumbing)."""
import tarfile

import numpy as np
import pytest

import cookbook
from cookbook import assets, checkpoints, tts_data

torch = pytest.importorskip('torch')


def _make_archive(tmp_path, folder='LJSpeech-1.1'):
    source = tmp_path / 'source' / folder
    (source / 'wavs').mkdir(parents=True)
    (source / 'metadata.csv').write_text('LJ001-0001|Hello 2.|Hello two.\n', encoding='utf-8')
    (source / 'wavs' / 'LJ001-0001.wav').write_bytes(b'RIFF')
    archive = tmp_path / 'LJSpeech-1.1.tar.bz2'
    with tarfile.open(archive, 'w:bz2') as tar:
        tar.add(source, arcname=folder)
    return archive


def test_checkpoint_file(tmp_path, monkeypatch, capsys):
    existing = tmp_path / 'mine.pth'
    existing.write_bytes(b'x')
    assert tts_data.checkpoint_file('DCTTS_SSRN', str(existing), 'dctts_ssrn_ljspeech') == existing
    with pytest.raises(FileNotFoundError, match=r"DCTTS_SSRN='.*nope.pth'.*not a file"):
        tts_data.checkpoint_file('DCTTS_SSRN', str(tmp_path / 'nope.pth'), 'dctts_ssrn_ljspeech')

    def offline(name, dest=None):
        raise assets.OfflineError(f'{name}: offline')

    monkeypatch.setattr(assets, 'fetch_asset', offline)
    assert tts_data.checkpoint_file('DCTTS_SSRN', None, 'dctts_ssrn_ljspeech') is None
    assert 'offline' in capsys.readouterr().out  # the reason is said, not swallowed


def test_ljspeech_root_choices(tmp_path, monkeypatch, capsys):
    data = tmp_path / 'data'
    (data / 'LJSpeech-1.1').mkdir(parents=True)
    (data / 'LJSpeech-1.1' / 'metadata.csv').write_text('', encoding='utf-8')
    assert tts_data.ljspeech_root(False, None, data) == data / 'LJSpeech-1.1'
    # Fast mode always takes the sample, and says what it ignores.
    assert tts_data.ljspeech_root(True, str(tmp_path), data) == tts_data.SAMPLE_DIR
    assert 'LJSPEECH_DIR=' in capsys.readouterr().out
    mine = tmp_path / 'mine'
    mine.mkdir()
    with pytest.raises(FileNotFoundError, match='has no metadata.csv'):
        tts_data.ljspeech_root(False, str(mine), data)
    (mine / 'metadata.csv').write_text('', encoding='utf-8')
    assert tts_data.ljspeech_root(False, str(mine), data) == mine

    def offline(name, dest=None):
        raise assets.OfflineError('no network')

    monkeypatch.setattr(assets, 'fetch_asset', offline)
    assert tts_data.ljspeech_root(False, None, tmp_path / 'empty') == tts_data.SAMPLE_DIR
    assert 'no network' in capsys.readouterr().out


def test_ljspeech_is_extracted_whole(tmp_path, monkeypatch):
    archive = _make_archive(tmp_path)
    data = tmp_path / 'data'
    monkeypatch.setattr(assets, 'fetch_asset', lambda name, dest=None: archive)
    real_extract_tar = assets._extract_tar

    def interrupted(archive_path, staging):  # part of the dataset is written, then Ctrl-C
        real_extract_tar(archive_path, staging)
        raise KeyboardInterrupt

    monkeypatch.setattr(assets, '_extract_tar', interrupted)
    with pytest.raises(KeyboardInterrupt):
        tts_data.ljspeech_root(False, None, data)
    assert not (data / 'LJSpeech-1.1').exists()  # no half-filled folder a later run would trust
    monkeypatch.setattr(assets, '_extract_tar', real_extract_tar)
    root = tts_data.ljspeech_root(False, None, data)
    assert root == data / 'LJSpeech-1.1'
    assert tts_data.read_metadata(root) == [('LJ001-0001', 'hello two.')]
    assert sorted(p.name for p in data.iterdir()) == ['LJSpeech-1.1']


def test_archive_without_the_folder_is_a_clear_error(tmp_path, monkeypatch):
    archive = _make_archive(tmp_path, folder='Other')
    monkeypatch.setattr(assets, 'fetch_asset', lambda name, dest=None: archive)
    with pytest.raises(ValueError, match='did not contain LJSpeech-1.1/metadata.csv'):
        tts_data.ljspeech_root(False, None, tmp_path / 'data')


def test_read_metadata_errors(tmp_path):
    (tmp_path / 'metadata.csv').write_text('only|two fields\n', encoding='utf-8')
    with pytest.raises(ValueError, match='line 1: expected id|text|normalized text'):
        tts_data.read_metadata(tmp_path)
    (tmp_path / 'metadata.csv').write_text('', encoding='utf-8')
    with pytest.raises(ValueError, match='is empty'):
        tts_data.read_metadata(tmp_path)
    with pytest.raises(FileNotFoundError, match='metadata.csv not found'):
        tts_data.read_metadata(tmp_path / 'nowhere')


def _fake_features(calls):
    def features(path):
        calls.append(path.name)
        n = 3 + len(calls)
        return np.full((n, 80), 0.5, np.float32), np.full((4 * n, 1025), 0.25, np.float32)
    return features


def test_speech_dataset_caches_features(tmp_path):
    root = tmp_path / 'lj'
    (root / 'wavs').mkdir(parents=True)
    (root / 'metadata.csv').write_text('A|x|Hi.\nB|y|In 1843.\nC|z|Third one.\n', encoding='utf-8')
    for clip in 'ABC':
        (root / 'wavs' / f'{clip}.wav').write_bytes(b'')
    calls = []
    dataset = tts_data.SpeechDataset(root, tmp_path / 'cache', _fake_features(calls), max_clips=2)
    assert len(dataset) == 2 and calls == ['A.wav', 'B.wav']
    item = dataset[1]
    assert item['text'].tolist()[-1] == cookbook.tts_text.EOS and item['mel'].shape == (5, 80)
    assert item['mag'].shape == (20, 1025) and item['mag'].dtype == torch.float32
    tts_data.SpeechDataset(root, tmp_path / 'cache', _fake_features(calls))
    assert calls == ['A.wav', 'B.wav', 'C.wav']  # only the new clip is computed
    assert not [p for p in (tmp_path / 'cache').rglob('.*')], 'temporary files left behind'
    (root / 'metadata.csv').write_text('D|x|Gone.\n', encoding='utf-8')
    with pytest.raises(FileNotFoundError, match=r'D\.wav is listed in metadata.csv but missing'):
        tts_data.SpeechDataset(root, tmp_path / 'cache', _fake_features(calls))


def test_training_state_round_trip_and_refusals(tmp_path):
    hparams = {'hop_length': 275, 'd': 8}
    model = torch.nn.Linear(3, 2)
    optimizer = torch.optim.Adam(model.parameters())
    path = tmp_path / 'state.pt'
    tts_data.save_training_state(path, model, optimizer, 5, [0.5, 0.25], hparams)
    fresh = torch.nn.Linear(3, 2)
    step, losses = tts_data.load_training_state(path, fresh, torch.optim.Adam(fresh.parameters()), hparams)
    assert (step, losses) == (5, [0.5, 0.25]) and torch.equal(fresh.weight, model.weight)
    with pytest.raises(ValueError, match=r"other hyper-parameters \(d: checkpoint 8, now 16\); delete"):
        tts_data.load_training_state(path, fresh, torch.optim.Adam(fresh.parameters()), {**hparams, 'd': 16})
    wide = torch.nn.Linear(4, 2)
    with pytest.raises(checkpoints.CheckpointMismatchError, match=r'(?s)different shapes.*Cannot resume'):
        tts_data.load_training_state(path, wide, torch.optim.Adam(wide.parameters()), hparams)
    (tmp_path / 'junk.pt').write_bytes(b'not a checkpoint')
    with pytest.raises(ValueError, match=r'junk\.pt is not a readable training checkpoint'):
        tts_data.load_training_state(tmp_path / 'junk.pt', fresh, optimizer, hparams)


def _clip(n_chars, n_frames):
    return {'text': torch.arange(2, 2 + n_chars), 'mel': torch.rand(n_frames, 80),
            'mag': torch.rand(4 * n_frames, 1025)}


def test_collate_pads_and_keeps_each_clips_lengths():
    items = [_clip(5, 3), _clip(9, 7), _clip(2, 4)]
    L, S, M, n_chars, n_frames = tts_data.collate(items)
    assert L.shape == (3, 9) and S.shape == (3, 80, 7) and M.shape == (3, 1025, 28)
    assert n_chars.tolist() == [5, 9, 2] and n_frames.tolist() == [3, 7, 4]
    assert (L[2, 2:] == cookbook.tts_text.PAD).all() and torch.equal(L[1], items[1]['text'])
    assert torch.equal(S[0, :, :3], items[0]['mel'].T) and (S[0, :, 3:] == 0).all()  # channels first
    assert torch.equal(M[2, :, :16], items[2]['mag'].T) and (M[2, :, 16:] == 0).all()
    with pytest.raises(ValueError, match='at least one clip'):
        tts_data.collate([])


class _Said:
    def __init__(self, text, dropped='', complete=True):
        self.text, self.pieces, self.dropped, self.complete = text, [text.lower()], dropped, complete
        self.mel = np.linspace(0, 1, 80 * 5, dtype=np.float32).reshape(80, 5)
        self.wav = np.sin(np.arange(2205, dtype=np.float32) / 10) * 0.5


def test_save_sentences_writes_numbered_files_and_reports(tmp_path, capsys):
    import soundfile as sf
    results = [_Said('One.'), _Said('Two, three.', dropped=',', complete=False)]
    paths = tts_data.save_sentences(results, tmp_path / 'tts', 22050)
    assert paths == [tmp_path / 'tts' / '1.wav', tmp_path / 'tts' / '2.wav']
    audio, sr = sf.read(paths[1], dtype='float32')
    assert sr == 22050 and len(audio) == 2205 and np.abs(audio - results[1].wav).max() < 1e-4
    np.testing.assert_array_equal(np.load(tmp_path / 'tts' / '2-mel.npy'), results[1].mel)
    out = capsys.readouterr().out.splitlines()
    assert out == ["1. ['one.']", "2. ['two, three.']  (dropped ','; frame limit reached)"]
    assert not [p for p in (tmp_path / 'tts').iterdir() if p.name.startswith('.')], 'temporary files left'


def test_wavegan_model_names():
    assert tts_data.wavegan_model('timit') == 'timit' and tts_data.wavegan_model('sc09') == 'sc09'
    with pytest.raises(ValueError, match=r"WAVEGAN_MODEL='timt': use 'timit' or 'sc09'"):
        tts_data.wavegan_model('timt')
    with pytest.raises(ValueError, match="WAVEGAN_MODEL='timt'"):
        tts_data.load_wavegan('timt')  # refused before anything is fetched


def test_wavegan_missing_files_are_named_before_tensorflow_loads(tmp_path):
    (tmp_path / 'model_infer.meta').write_bytes(b'')
    (tmp_path / 'model.ckpt.index').write_bytes(b'')
    with pytest.raises(FileNotFoundError, match=r'incomplete, missing: .*model\.ckpt\.data-00000-of-00001$'):
        tts_data.WaveGAN(tmp_path / 'model.ckpt', tmp_path / 'model_infer.meta')


def test_load_wavegan_fetches_the_three_files(monkeypatch):
    asked = []

    def offline(name, dest=None):
        asked.append(name)
        raise assets.OfflineError(f'{name}: offline')

    monkeypatch.setattr(assets, 'fetch_asset', offline)
    with pytest.raises(assets.DownloadError, match='wavegan_sc09_index: offline'):
        tts_data.load_wavegan('sc09')
    assert asked == ['wavegan_sc09_index']
    assert all(f'wavegan_{m}_{part}' in assets.ASSETS for m in tts_data.WAVEGAN_MODELS
               for part in ('index', 'data', 'meta'))
