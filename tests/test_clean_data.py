"""scripts/clean_data.py (`make clean-data`): removes downloads and trained checkpoints, keeps what
the repository ships and the download records, never follows a link out of the repository."""
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / 'scripts' / 'clean_data.py'


def _tree(root: Path, outside: Path):
    files = {
        'data/README.md': b'readme', 'data/samples/ljspeech/a.wav': b'x' * 10,
        'data/LJSpeech-1.1.tar.bz2': b'x' * 3000, 'data/LJSpeech-1.1/wavs/a.wav': b'x' * 2048,
        'data/cache/clip.npy': b'x' * 100, 'data/speech_commands_v0.01.tar.gz.part': b'x' * 7,
        'checkpoints/README.md': b'readme', 'checkpoints/shipped/folk.mag': b'x' * 5,
        'checkpoints/dctts-own/text2mel-ljspeech.pt': b'x' * 4096, 'checkpoints/basic_rnn.mag': b'x' * 50,
        'checkpoints/basic_rnn.mag.download.json': b'{}',
    }
    for name, content in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(content)
    (outside / 'keep.wav').parent.mkdir(parents=True, exist_ok=True)
    (outside / 'keep.wav').write_bytes(b'x' * 999)
    (root / 'data' / 'speech_commands_v0.02').symlink_to(outside, target_is_directory=True)
    return files


def _run(root, *args):
    return subprocess.run([sys.executable, str(SCRIPT), '--root', str(root), *args],
                          capture_output=True, text=True, timeout=60)


def _left(root):
    return sorted(p.relative_to(root).as_posix() for p in root.rglob('*') if p.is_file() or p.is_symlink())


def test_dry_run_lists_with_sizes_and_deletes_nothing(tmp_path):
    root, outside = tmp_path / 'repo', tmp_path / 'elsewhere'
    _tree(root, outside)
    before = _left(root)
    done = _run(root, '--dry-run')
    assert done.returncode == 0, done.stderr
    assert _left(root) == before
    out = done.stdout
    assert 'would remove folder checkpoints/dctts-own  (4.0 KiB)' in out
    assert 'would remove file data/LJSpeech-1.1.tar.bz2  (2.9 KiB)' in out
    assert 'would remove link data/speech_commands_v0.02' in out
    listed = [line for line in out.splitlines() if 'would remove' in line]
    assert len(listed) == 7, out  # data: archive, folder, cache, .part, link; checkpoints: dctts-own, .mag
    for kept in ('data/samples', 'checkpoints/shipped', 'README.md', '.download.json'):
        assert not [line for line in listed if kept in line], out


def test_removes_downloads_and_training_keeps_what_ships(tmp_path):
    root, outside = tmp_path / 'repo', tmp_path / 'elsewhere'
    _tree(root, outside)
    done = _run(root)
    assert done.returncode == 0, done.stderr
    assert 'freed' in done.stdout
    assert _left(root) == ['checkpoints/README.md', 'checkpoints/basic_rnn.mag.download.json',
                           'checkpoints/shipped/folk.mag', 'data/README.md', 'data/samples/ljspeech/a.wav']
    assert (outside / 'keep.wav').read_bytes() == b'x' * 999  # the link went, not what it pointed at
    assert 'nothing to remove' in _run(root).stdout


def test_forget_records_removes_the_records_too(tmp_path):
    root, outside = tmp_path / 'repo', tmp_path / 'elsewhere'
    _tree(root, outside)
    assert _run(root, '--forget-records').returncode == 0
    assert 'checkpoints/basic_rnn.mag.download.json' not in _left(root)
