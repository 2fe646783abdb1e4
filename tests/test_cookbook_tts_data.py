"""cookbook.tts_data: checkpoint location and the fallback when a checkpoint cannot be had or
loaded, LJSpeech location and extraction, metadata, the spectrogram cache, training windows,
resumable training checkpoints, the figures and the WaveGAN files (notebook 2's plumbing)."""
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
    out = capsys.readouterr().out
    assert out.startswith('NOTICE: Could not get ljspeech-ssrn.pth') and 'offline' in out  # file and reason
    assert 'DCTTS_SSRN' in out  # and what to do

    def broken(name, dest=None):
        raise ConnectionResetError('connection reset by peer')

    monkeypatch.setattr(assets, 'fetch_asset', broken)  # any failure to get it falls back the same way
    assert tts_data.checkpoint_file('DCTTS_TEXT2MEL', None, 'dctts_text2mel_ljspeech') is None
    assert 'ljspeech-text2mel.pth' in (out := capsys.readouterr().out) and 'ConnectionResetError' in out


@pytest.mark.parametrize('content', [
    b'<!DOCTYPE html><html><head><title>Dropbox</title></head><body>Sign in</body></html>\n',  # a web page
    b'PK\x03\x04truncated',  # the start of a zip, cut short
    b'',
])
def test_a_checkpoint_that_cannot_be_loaded_falls_back_with_a_notice(tmp_path, capsys, content):
    path = tmp_path / 'ljspeech-text2mel.pth'
    path.write_bytes(content)
    model = torch.nn.Linear(3, 2)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    assert tts_data.load_checkpoint(model, path, 'DCTTS_TEXT2MEL') is False
    out = capsys.readouterr().out
    assert out.startswith(f'NOTICE: Could not load {path} into Linear: ')  # the file ...
    assert 'PyTorch checkpoint' in out or 'Error' in out  # ... the reason ...
    assert 'Delete the file to download it again, or set DCTTS_TEXT2MEL' in out  # ... and what to do
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())  # weights untouched


def test_a_good_checkpoint_loads(tmp_path, capsys):
    torch.manual_seed(0)
    saved = torch.nn.Linear(3, 2)
    torch.save(saved.state_dict(), tmp_path / 'good.pt')
    model = torch.nn.Linear(3, 2)
    assert tts_data.load_checkpoint(model, tmp_path / 'good.pt', 'X') is True
    assert torch.equal(model.weight, saved.weight) and capsys.readouterr().out == ''


def test_load_released_models_says_plainly_what_you_hear(tmp_path, monkeypatch, capsys):
    """Both files load: True, no notice. One missing: False, its notice, then one saying it is noise."""
    torch.manual_seed(0)
    first, second = torch.nn.Linear(3, 2), torch.nn.Linear(2, 2)
    torch.save(first.state_dict(), tmp_path / 'a.pt')
    torch.save(second.state_dict(), tmp_path / 'b.pt')
    models = torch.nn.Linear(3, 2), torch.nn.Linear(2, 2)
    assert tts_data.load_released_models(*models, str(tmp_path / 'a.pt'), str(tmp_path / 'b.pt')) is True
    assert torch.equal(models[1].weight, second.weight) and capsys.readouterr().out == ''

    def offline(name, dest=None):
        raise assets.OfflineError(f'{name}: offline')

    monkeypatch.setattr(assets, 'fetch_asset', offline)
    assert tts_data.load_released_models(*models, str(tmp_path / 'a.pt'), None) is False
    out = capsys.readouterr().out
    assert 'Could not get ljspeech-ssrn.pth' in out and 'RANDOM weights' in out and 'noise, NOT speech' in out


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


def test_ljspeech_is_not_downloaded_for_a_cpu_run(tmp_path, monkeypatch, capsys):
    def must_not_download(name, dest=None):
        raise AssertionError(f'{name} was fetched')

    monkeypatch.setattr(assets, 'fetch_asset', must_not_download)
    assert tts_data.ljspeech_root(False, None, tmp_path, download=False) == tts_data.SAMPLE_DIR
    assert 'Not downloading LJSpeech (2.7 GB' in capsys.readouterr().out
    (tmp_path / 'LJSpeech-1.1').mkdir()  # an extracted copy is still used
    (tmp_path / 'LJSpeech-1.1' / 'metadata.csv').write_text('', encoding='utf-8')
    assert tts_data.ljspeech_root(False, None, tmp_path, download=False) == tmp_path / 'LJSpeech-1.1'


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


def test_random_windows_lie_inside_each_clip():
    """A short clip in a batch with a long one never gets a window of padding only (issue 21)."""
    n_frames = torch.tensor([50, 5, 32, 33])
    T = 50
    mels = torch.zeros(4, 80, T)
    mags = torch.zeros(4, 1025, 4 * T)
    for i, n in enumerate(n_frames.tolist()):  # each real frame holds its own index + 1; padding is 0
        mels[i, :, :n] = torch.arange(1, n + 1, dtype=torch.float32)
        mags[i, :, :4 * n] = torch.arange(1, n + 1, dtype=torch.float32).repeat_interleave(4)
    seen_starts = set()
    for seed in range(200):
        torch.manual_seed(seed)
        S, M, lengths = tts_data.random_windows(mels, mags, n_frames, 32, 4)
        assert S.shape == (4, 80, 32) and M.shape == (4, 1025, 128)
        assert lengths.tolist() == [32, 5, 32, 32]
        for i in range(4):
            real = S[i, 0, :lengths[i]]
            assert (real > 0).all() and (S[i, 0, lengths[i]:] == 0).all()  # real frames first, then padding
            assert torch.equal(real, torch.arange(real[0], real[0] + len(real)))  # consecutive frames of the clip
            assert torch.equal(M[i, 0, :4 * lengths[i]], real.repeat_interleave(4))  # the same window in mags
        assert S[1, 0, 0] == 1 and S[2, 0, 0] == 1  # 5 and 32 frames: taken whole, from their start
        seen_starts.add((int(S[0, 0, 0]), int(S[3, 0, 0])))
    assert {a for a, _ in seen_starts} == set(range(1, 20)) and {b for _, b in seen_starts} == {1, 2}
    S, M, lengths = tts_data.random_windows(mels[:, :, :10], mags[:, :, :40], torch.tensor([10, 5, 10, 10]), 32, 4)
    assert S.shape[2] == 10 and lengths.tolist() == [10, 5, 10, 10]  # a batch shorter than the window


def test_figures_have_one_panel_each(tmp_path):
    import matplotlib
    matplotlib.use('Agg')
    fig = tts_data.plot_attention_and_mel({'a': np.eye(4), 'b': np.eye(4)}, np.random.rand(80, 6), 'title',
                                          22050, 1100)
    assert len(fig.axes) >= 3 and fig.axes[0].get_title() == 'a'
    fig = tts_data.plot_training({'loss': [1.0, 0.5]}, {'lr': [0.1, 0.2]}, {'W': np.eye(3), 'A': np.eye(3)})
    assert [ax.get_title() for ax in fig.axes] == ['training loss', 'Text2Mel learning rate', 'W', 'A']
    assert fig.axes[0].get_yscale() == 'log'


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
        tts_data.wavegan_files('timt')  # refused before anything is fetched


def test_wavegan_files_are_fetched_together(monkeypatch, tmp_path):
    asked = []

    def offline(name, dest=None):
        asked.append(name)
        raise assets.OfflineError(f'{name}: offline')

    monkeypatch.setattr(assets, 'fetch_asset', offline)
    with pytest.raises(assets.DownloadError, match='wavegan_sc09_index: offline'):
        tts_data.wavegan_files('sc09')
    assert asked == ['wavegan_sc09_index']
    assert all(f'wavegan_{m}_{part}' in assets.ASSETS for m in tts_data.WAVEGAN_MODELS
               for part in ('index', 'data', 'meta'))

    names = {'index': 'timit.ckpt.index', 'data': 'timit.ckpt.data-00000-of-00001', 'meta': 'timit_infer.meta'}
    for name in names.values():
        (tmp_path / name).write_bytes(b'x')
    monkeypatch.setattr(assets, 'fetch_asset', lambda name, dest=None: tmp_path / names[name.split('_')[-1]])
    assert tts_data.wavegan_files('timit') == (str(tmp_path / 'timit.ckpt'), tmp_path / 'timit_infer.meta')
    (tmp_path / 'timit.ckpt.data-00000-of-00001').unlink()  # say a copy kept elsewhere lost one file
    monkeypatch.setattr(assets, 'fetch_asset', lambda name, dest=None: (
        tmp_path / 'elsewhere.data' if name.endswith('data') else tmp_path / names[name.split('_')[-1]]))
    with pytest.raises(FileNotFoundError, match=r'incomplete, missing: .*timit\.ckpt\.data-00000-of-00001$'):
        tts_data.wavegan_files('timit')
