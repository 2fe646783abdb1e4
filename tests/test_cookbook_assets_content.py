"""cookbook.assets.content_problem: each kind accepts a real file of that kind (written by the
library that reads it) and refuses an HTML page, an empty file, a file cut short, another kind."""
import io
import tarfile

import numpy as np
import pytest

import cookbook
from cookbook import assets

SHIPPED_MAG = cookbook.CHECKPOINT_DIR / 'shipped' / 'folk_lookback_rnn.mag'
HTML = b'\n  <!doctype HTML>\n<html><head><title>\n Sign in \n</title></head><body>Log in</body></html>'


def _torch_file(legacy: bool, whole_module: bool = True) -> bytes:
    import torch
    module = torch.nn.Sequential(torch.nn.Conv1d(2, 4, 3), torch.nn.Embedding(5, 2).half())
    module.register_buffer('step', torch.tensor(7))
    buffer = io.BytesIO()
    torch.save(module if whole_module else module.state_dict(), buffer,
               _use_new_zipfile_serialization=not legacy)
    return buffer.getvalue()


def _tar(mode: str) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode=mode) as archive:
        data = b'RIFF' * 5000
        info = tarfile.TarInfo('words/yes/clip.wav')
        info.size = len(data)
        archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def _wav(tmp_path) -> bytes:
    path = cookbook.write_wav(tmp_path / 'tone.wav', np.sin(np.arange(1600) / 5) * 0.5, 16000)
    return path.read_bytes()


def _write(tmp_path, data, name='file'):
    path = tmp_path / name
    path.write_bytes(data)
    return path


GOOD = {
    'torch': [lambda tmp: _torch_file(legacy=True), lambda tmp: _torch_file(legacy=False),
              lambda tmp: _torch_file(legacy=True, whole_module=False)],
    'tar.gz': [lambda tmp: _tar('w:gz')],
    'tar.bz2': [lambda tmp: _tar('w:bz2')],
    'magenta_bundle': [lambda tmp: SHIPPED_MAG.read_bytes()],
    'wav': [_wav],
}


# An archive is checked up to its first entry: decompressing gigabytes would take minutes, and
# the registered archives have a published size and SHA-256, which catch any truncation.
CUTS = {'tar.gz': lambda n: (30,), 'tar.bz2': lambda n: (30,)}


@pytest.mark.parametrize('kind', GOOD)
def test_real_files_pass_and_damaged_ones_are_refused(tmp_path, kind):
    if kind == 'magenta_bundle':
        pytest.importorskip('note_seq')  # without it a bundle gets only the generic checks
    what = assets.KINDS[kind].what
    for make in GOOD[kind]:
        data = make(tmp_path)
        assert assets.content_problem(_write(tmp_path, data), kind) is None
        for cut in CUTS.get(kind, lambda n: (n // 2, n - 1))(len(data)):
            problem = assets.content_problem(_write(tmp_path, data[:cut]), kind)
            assert problem is not None and problem.startswith('a file of ') and f'not {what}: ' in problem
    assert assets.content_problem(_write(tmp_path, b''), kind) == f'an empty file (0 bytes), not {what}'
    problem = assets.content_problem(_write(tmp_path, HTML + b' ' * 5000), kind)
    assert problem == (f"an HTML page of 5 kB (title 'Sign in'), not {what}: the link may have "
                       'expired, be rate-limited or need a browser')


@pytest.mark.parametrize('kind, other', [('torch', 'tar.gz'), ('tar.gz', 'tar.bz2'), ('tar.bz2', 'torch'),
                                         ('magenta_bundle', 'torch'), ('wav', 'magenta_bundle')])
def test_another_kind_is_refused(tmp_path, kind, other):
    if kind == 'magenta_bundle':
        pytest.importorskip('note_seq')
    data = GOOD[other][0](tmp_path)
    problem = assets.content_problem(_write(tmp_path, data, 'x'), kind)
    assert problem is not None and f'not {assets.KINDS[kind].what}' in problem


def test_legacy_torch_check_runs_no_code_from_the_file(tmp_path):
    import pickle

    class Boom:
        def __reduce__(self):
            return (exec, ("raise SystemExit('code from the file ran')",))

    buffer = io.BytesIO()
    for value in (0x1950a86a20f9469cfc6c, 1001, {'little_endian': True}, Boom(), []):
        pickle.dump(value, buffer, protocol=2)
    assert assets.content_problem(_write(tmp_path, buffer.getvalue()), 'torch') is None


def test_generic_check_and_unknown_kind(tmp_path):
    assert assets.content_problem(_write(tmp_path, bytes(range(256))), None) is None
    page = assets.content_problem(_write(tmp_path, b'<html><body>x'), None)
    assert page.startswith('an HTML page of 13 bytes, not the expected file')
    # raw weights may start with any byte, '<' included: only a real page counts as HTML
    assert assets.content_problem(_write(tmp_path, b'<\x00\x01\x02' * 100), 'tf_data') is None
    with pytest.raises(ValueError, match="unknown kind 'pth'"):
        assets.content_problem(_write(tmp_path, b'x'), 'pth')


def test_tensorflow_index_and_metagraph(tmp_path):
    """The footer magic and the MetaGraphDef parse, against files TensorFlow itself wrote."""
    pytest.importorskip('tensorflow')
    cookbook.quiet_tensorflow()
    import tensorflow as tf
    variable = tf.Variable(np.arange(6, dtype=np.float32))
    prefix = tf.train.Checkpoint(v=variable).write(str(tmp_path / 'm.ckpt'))
    index = (tmp_path / 'm.ckpt.index').read_bytes()
    assert prefix.endswith('m.ckpt') and assets.content_problem(tmp_path / 'm.ckpt.index', 'tf_index') is None
    assert 'no TensorFlow table footer' in assets.content_problem(_write(tmp_path, index[:-1]), 'tf_index')
    graph = tf.Graph()
    with graph.as_default():
        z = tf.compat.v1.placeholder(tf.float32, [None, 100], name='z')
        tf.identity(tf.tanh(z), name='G_z')
        tf.compat.v1.train.export_meta_graph(filename=str(tmp_path / 'infer.meta'), graph=graph)
    meta = (tmp_path / 'infer.meta').read_bytes()
    assert assets.content_problem(tmp_path / 'infer.meta', 'tf_metagraph') is None
    for cut in (len(meta) // 2, len(meta) - 1):
        problem = assets.content_problem(_write(tmp_path, meta[:cut]), 'tf_metagraph')
        assert 'does not parse as a MetaGraphDef' in problem
    assert 'without any graph node' in assets.content_problem(_write(tmp_path, b'\x0a\x00'), 'tf_metagraph')
