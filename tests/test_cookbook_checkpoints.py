"""Loading third-party PyTorch checkpoints without running code from them."""
import builtins
import os
import subprocess
import sys
import textwrap
import warnings

import pytest

torch = pytest.importorskip('torch')

import cookbook

FORMATS = {'zip': True, 'legacy': False}

# A throw-away package named like pytorch-dc-tts's `models`: it exists only while saving.
MODELS_PACKAGE = {
    '__init__.py': '',
    'layers.py': '''
        import torch
        from torch import nn

        class LayerNorm(nn.Module):
            """Layer norm over channels with its own gamma/beta, as in DC-TTS."""
            def __init__(self, channels):
                super().__init__()
                self.gamma = nn.Parameter(torch.randn(channels))
                self.beta = nn.Parameter(torch.randn(channels))

            def forward(self, x):
                return x

        class HighwayConv(nn.Module):
            def __init__(self, channels):
                super().__init__()
                self.conv = nn.utils.weight_norm(nn.Conv1d(channels, 2 * channels, 3, padding=1))

            def forward(self, x):
                return self.conv(x)
        ''',
    'net.py': '''
        import torch
        from torch import nn
        from models.layers import LayerNorm, HighwayConv

        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.embed = nn.Embedding(10, 4)
                self.conv = nn.Conv1d(4, 6, 3)
                self.norm = LayerNorm(6)
                self.blocks = nn.Sequential(HighwayConv(6), nn.ReLU(), HighwayConv(6))
                self.register_buffer('scale', torch.arange(6, dtype=torch.float32))
                self.register_buffer('scratch', torch.zeros(2), persistent=False)

            def forward(self, x):
                return x

        class Holder:
            """A plain class to test safe_torch_load's stand_ins mapping."""
            def __init__(self, weights, label):
                self.weights = weights
                self.label = label
        ''',
    'evil.py': '''
        import os

        class Boom:
            """Its unpickling runs a shell command."""
            def __init__(self, command):
                self.command = command

            def __reduce__(self):
                return (os.system, (self.command,))
        ''',
}


def _write_package(root, name, files):
    package = root / name
    package.mkdir()
    for filename, source in files.items():
        (package / filename).write_text(textwrap.dedent(source))


@pytest.fixture
def models_on_path(tmp_path):
    """Put the throw-away `models` package on sys.path for saving; remove it afterwards."""
    root = tmp_path / 'pkgsrc'
    root.mkdir()
    _write_package(root, 'models', MODELS_PACKAGE)
    sys.path.insert(0, str(root))
    try:
        yield root
    finally:
        _forget_models(root)


def _forget_models(root):
    """Take the package off sys.path and out of sys.modules."""
    if str(root) in sys.path:
        sys.path.remove(str(root))
    for name in [n for n in sys.modules if n == 'models' or n.startswith('models.')]:
        del sys.modules[name]


def _save(obj, path, zip_format):
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')  # weight_norm deprecation, source warnings
        torch.save(obj, path, _use_new_zipfile_serialization=zip_format)


def _new_nets(count=1):
    """Fresh `models.net.Net` instances from the throw-away package (weight_norm warns; ignore it)."""
    import importlib
    net_module = importlib.import_module('models.net')
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        return [net_module.Net() for _ in range(count)]


def _assert_gone():
    assert 'models' not in sys.modules
    with pytest.raises(ImportError):
        __import__('models.net')


@pytest.mark.parametrize('fmt', FORMATS)
def test_pickled_module_state_dict_matches_original(tmp_path, models_on_path, fmt):
    model, = _new_nets()
    expected = model.state_dict()
    path = tmp_path / f'net-{fmt}.pth'
    _save(model, path, FORMATS[fmt])
    _forget_models(models_on_path)
    _assert_gone()
    # The file really holds the whole module: an ordinary load needs the package.
    with pytest.raises(ModuleNotFoundError, match='models'):
        torch.load(path, weights_only=False)
    state = cookbook.load_pickled_module_state_dict(path)
    _assert_gone()  # nothing from the file was imported
    assert list(state) == list(expected)
    assert 'blocks.0.conv.weight_g' in state and 'blocks.0.conv.weight_v' in state
    assert 'norm.gamma' in state and 'scale' in state and 'scratch' not in state
    for key, tensor in expected.items():
        assert state[key].dtype == tensor.dtype
        assert torch.equal(state[key], tensor), key
        assert not isinstance(state[key], torch.nn.Parameter)


@pytest.mark.parametrize('fmt', FORMATS)
def test_state_dict_rebuild_loads_into_fresh_model(tmp_path, models_on_path, fmt):
    source, target = _new_nets(2)
    path = tmp_path / 'net.pth'
    _save(source, path, FORMATS[fmt])
    target.load_state_dict(cookbook.load_pickled_module_state_dict(path))
    for (key, a), b in zip(source.state_dict().items(), target.state_dict().values()):
        assert torch.equal(a, b), key


class _Thnn04Backend:
    """PyTorch <= 0.4 pickled `_backend = torch.nn.backends.thnn._get_thnn_function_backend()`
    into every module; this reproduces that global in a file saved by today's torch."""

    def __reduce__(self):
        from torch.nn.backends import thnn
        return (thnn._get_thnn_function_backend, ())


@pytest.mark.parametrize('fmt', FORMATS)
def test_pytorch_04_backend_attribute_is_tolerated(tmp_path, fmt):
    conv = torch.nn.Conv1d(2, 2, 1)
    conv._backend = _Thnn04Backend()
    path = tmp_path / 'old.pth'
    _save(conv, path, FORMATS[fmt])
    state = cookbook.load_pickled_module_state_dict(path, allowed_prefixes=())
    assert torch.equal(state['weight'], conv.weight.detach())


@pytest.mark.parametrize('fmt', FORMATS)
def test_data_parallel_wrapper_keeps_module_prefix(tmp_path, fmt):
    wrapped = torch.nn.DataParallel(torch.nn.Sequential(torch.nn.Linear(3, 2)))
    path = tmp_path / 'dp.pth'
    _save(wrapped, path, FORMATS[fmt])
    state = cookbook.load_pickled_module_state_dict(path, allowed_prefixes=())
    assert list(state) == list(wrapped.state_dict()) == ['module.0.weight', 'module.0.bias']
    assert torch.equal(state['module.0.weight'], wrapped.module[0].weight.detach())


def test_plain_state_dict_and_training_checkpoint_are_accepted(tmp_path):
    conv = torch.nn.Conv1d(2, 3, 3)
    torch.save(conv.state_dict(), tmp_path / 'sd.pth')
    torch.save({'epoch': 3, 'state_dict': conv.state_dict()}, tmp_path / 'ckpt.pth')
    for name in ('sd.pth', 'ckpt.pth'):
        state = cookbook.load_pickled_module_state_dict(tmp_path / name)
        assert list(state) == ['weight', 'bias']
        assert torch.equal(state['weight'], conv.weight.detach())


class _SystemCall:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f'touch {self.marker}',))


class _EvalCall:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (builtins.eval, (f"open({str(self.marker)!r}, 'w').close()",))


class _SubprocessCall:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (subprocess.call, (['touch', str(self.marker)],))


@pytest.mark.parametrize('fmt', FORMATS)
@pytest.mark.parametrize('payload, global_name', [
    (_SystemCall, 'system'), (_EvalCall, 'builtins.eval'), (_SubprocessCall, 'subprocess.call')])
@pytest.mark.parametrize('loader', ['module', 'safe'])
def test_malicious_pickle_is_refused_without_side_effect(tmp_path, fmt, payload, global_name,
                                                         loader):
    marker = tmp_path / 'pwned'
    path = tmp_path / 'evil.pth'
    _save({'weight': torch.ones(2), 'payload': payload(marker)}, path, FORMATS[fmt])
    assert not marker.exists()
    load = (cookbook.load_pickled_module_state_dict if loader == 'module'
            else cookbook.safe_torch_load)
    with pytest.raises(cookbook.UnsafeCheckpointError) as info:
        load(path)
    assert global_name in str(info.value)
    assert str(path) in str(info.value)
    assert not marker.exists()


def test_plain_pickle_loader_would_have_run_the_payload(tmp_path):
    """Control for the test above: the payload really executes under a normal load."""
    marker = tmp_path / 'pwned'
    path = tmp_path / 'evil.pth'
    torch.save({'payload': _SystemCall(marker)}, path)
    torch.load(path, weights_only=False)
    assert marker.exists()


@pytest.mark.parametrize('fmt', FORMATS)
def test_class_outside_allowed_prefixes_is_refused(tmp_path, models_on_path, fmt):
    model, = _new_nets()
    path = tmp_path / 'net.pth'
    _save(model, path, FORMATS[fmt])
    with pytest.raises(cookbook.UnsafeCheckpointError, match=r"models\.net\.Net"):
        cookbook.load_pickled_module_state_dict(path, allowed_prefixes=('other.',))
    # A prefix must match the qualified name, not just any substring of it.
    with pytest.raises(cookbook.UnsafeCheckpointError):
        cookbook.load_pickled_module_state_dict(path, allowed_prefixes=('net.',))
    state = cookbook.load_pickled_module_state_dict(path, allowed_prefixes=('models.net.',
                                                                            'models.layers.'))
    assert 'norm.gamma' in state


@pytest.mark.parametrize('fmt', FORMATS)
def test_evil_class_under_allowed_prefix_stays_inert(tmp_path, models_on_path, fmt):
    """A class under an allowed prefix becomes a stand-in; its __reduce__ target is refused."""
    import importlib
    evil = importlib.import_module('models.evil')
    marker = tmp_path / 'pwned'
    path = tmp_path / 'evil.pth'
    _save({'x': evil.Boom(f'touch {marker}')}, path, FORMATS[fmt])
    with pytest.raises(cookbook.UnsafeCheckpointError, match='system'):
        cookbook.load_pickled_module_state_dict(path)
    assert not marker.exists()


@pytest.mark.parametrize('fmt', FORMATS)
def test_safe_torch_load_tensors_and_containers(tmp_path, fmt):
    data = {'w': torch.randn(3, 2), 'meta': [1, 2.5, 'x', (True, None)], 'set': {1, 2},
            'size': torch.Size([3, 2]), 'half': torch.ones(2, dtype=torch.float16),
            'bytes': b'\x00\x01'}
    path = tmp_path / 'plain.pth'
    _save(data, path, FORMATS[fmt])
    loaded = cookbook.safe_torch_load(path)
    assert torch.equal(loaded['w'], data['w'])
    assert loaded['half'].dtype == torch.float16
    assert loaded['meta'] == data['meta'] and loaded['set'] == {1, 2}
    assert loaded['size'] == torch.Size([3, 2]) and loaded['bytes'] == b'\x00\x01'


class MyHolder:
    """The notebook's own class that stands in for models.net.Holder."""


@pytest.mark.parametrize('fmt', FORMATS)
def test_safe_torch_load_stand_ins(tmp_path, models_on_path, fmt):
    import importlib
    net_module = importlib.import_module('models.net')
    weights = torch.randn(4)
    path = tmp_path / 'holder.pth'
    _save({'holder': net_module.Holder(weights, 'hello')}, path, FORMATS[fmt])
    loaded = cookbook.safe_torch_load(path, stand_ins={'models.net.Holder': MyHolder})
    assert type(loaded['holder']) is MyHolder
    assert torch.equal(loaded['holder'].weights, weights) and loaded['holder'].label == 'hello'
    with pytest.raises(cookbook.UnsafeCheckpointError, match=r'models\.net\.Holder'):
        cookbook.safe_torch_load(path)
    with pytest.raises(cookbook.UnsafeCheckpointError, match=r'models\.net\.Holder'):
        cookbook.safe_torch_load(path, stand_ins={'models.net.Other': MyHolder})


@pytest.mark.parametrize('fmt', FORMATS)
def test_safe_torch_load_refuses_unmapped_nn_module(tmp_path, fmt):
    path = tmp_path / 'conv.pth'
    _save(torch.nn.Conv1d(2, 2, 1), path, FORMATS[fmt])
    with pytest.raises(cookbook.UnsafeCheckpointError, match='Conv1d'):
        cookbook.safe_torch_load(path)
    conv = cookbook.safe_torch_load(path, stand_ins={
        'torch.nn.modules.conv.Conv1d': torch.nn.Conv1d})
    assert isinstance(conv, torch.nn.Conv1d) and conv.weight.shape == (2, 2, 1)


def test_missing_and_corrupt_files(tmp_path):
    with pytest.raises(FileNotFoundError, match='nope.pth'):
        cookbook.load_pickled_module_state_dict(tmp_path / 'nope.pth')
    bad = tmp_path / 'bad.pth'
    bad.write_bytes(b'this is not a checkpoint')
    with pytest.raises(ValueError, match='bad.pth'):
        cookbook.safe_torch_load(bad)


@pytest.mark.parametrize('loader', ['safe_torch_load', 'load_pickled_module_state_dict',
                                    'load_state_dict_file'])
def test_html_page_or_empty_file_named_as_such(tmp_path, loader):
    """What an expired link saves under a checkpoint's name is named, not 'invalid load key'."""
    page = tmp_path / 'ljspeech-text2mel.pth'
    page.write_bytes(b'<!DOCTYPE html><html><head><title>Dropbox</title></head>' + b' ' * 4000)
    with pytest.raises(ValueError) as info:
        getattr(cookbook, loader)(page)
    assert str(info.value).startswith(f"{page} is an HTML page of 4 kB (title 'Dropbox'), not a "
                                      'PyTorch checkpoint: the link may have expired')
    assert 'Delete it and download it again' in str(info.value)
    page.write_bytes(b'')
    with pytest.raises(ValueError, match=r'is an empty file \(0 bytes\), not a PyTorch checkpoint'):
        getattr(cookbook, loader)(page)


# ----------------------------------------------------------------------------------------------
# Which loader reads what: torch's own weights_only loader wherever it can
# ----------------------------------------------------------------------------------------------

def test_zip_module_pickles_go_through_torchs_own_loader(tmp_path, models_on_path, monkeypatch):
    """Zip-format whole modules load with torch.load(weights_only=True) and safe_globals stand-ins;
    the hand-written unpickler is not used for them."""
    from cookbook import checkpoints
    model, = _new_nets()
    path = tmp_path / 'net.pth'
    _save(model, path, True)
    _forget_models(models_on_path)

    def refuse(*args, **kwargs):
        raise AssertionError('the restricted unpickler was used for a zip file')

    monkeypatch.setattr(checkpoints, '_restricted_pickle_module', refuse)
    state = cookbook.load_pickled_module_state_dict(path)
    assert torch.equal(state['norm.gamma'], model.state_dict()['norm.gamma'])
    _assert_gone()


def test_torchs_loader_cannot_read_legacy_module_pickles(tmp_path, models_on_path):
    """Why the hand-written unpickler stays: the legacy format stores each module class as a
    persistent id, which torch's weights-only unpickler refuses even with every class allowed.
    If a future torch reads it, this test fails: then drop the hand-written unpickler."""
    import pickle
    from cookbook import checkpoints
    model, = _new_nets()
    path = tmp_path / 'net.pth'
    _save(model, path, False)
    _forget_models(models_on_path)
    names = ['models.net.Net', 'models.layers.LayerNorm', 'models.layers.HighwayConv',
             'torch.nn.modules.sparse.Embedding', 'torch.nn.modules.conv.Conv1d',
             'torch.nn.modules.container.Sequential', 'torch.nn.modules.activation.ReLU',
             'torch.nn.utils.weight_norm.WeightNorm']
    with torch.serialization.safe_globals([(checkpoints._standin_for(n), n) for n in names]):
        with pytest.raises(pickle.UnpicklingError, match='persistent_load'):
            torch.load(path, weights_only=True)
    assert 'norm.gamma' in cookbook.load_pickled_module_state_dict(path)  # ours reads it


def test_load_state_dict_file_kinds(tmp_path):
    from cookbook import checkpoints
    conv = torch.nn.Conv1d(2, 3, 3)
    torch.save(conv.state_dict(), tmp_path / 'sd.pt')
    torch.save({'step': 1, 'model': conv.state_dict(), 'optimizer': {}}, tmp_path / 'mine.pt')
    torch.save({'epoch': 1, 'global_step': 9, 'state_dict': conv.state_dict()}, tmp_path / 'theirs.pt',
               _use_new_zipfile_serialization=False)
    torch.save(conv, tmp_path / 'module.pt', _use_new_zipfile_serialization=False)
    for name in ('sd.pt', 'mine.pt', 'theirs.pt', 'module.pt'):
        state = checkpoints.load_state_dict_file(tmp_path / name)
        assert list(state) == ['weight', 'bias'] and torch.equal(state['weight'], conv.weight.detach()), name
    torch.save({'step': 1}, tmp_path / 'empty.pt')
    with pytest.raises(ValueError, match=r"empty\.pt holds no model weights"):
        checkpoints.load_state_dict_file(tmp_path / 'empty.pt')
    with pytest.raises(FileNotFoundError, match='nope.pt'):
        checkpoints.load_state_dict_file(tmp_path / 'nope.pt')


def test_weight_norm_names_are_mapped_to_parametrizations():
    """Files written with torch.nn.utils.weight_norm (weight_g, weight_v) fit models that use
    torch.nn.utils.parametrizations.weight_norm, checked and loaded key for key."""
    from cookbook import checkpoints
    from torch.nn.utils.parametrizations import weight_norm
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')  # the old weight_norm is deprecated
        old = torch.nn.Sequential(torch.nn.utils.weight_norm(torch.nn.Conv1d(2, 4, 3)))
    with torch.no_grad():
        old[0].weight_g.mul_(2.0)
    new = torch.nn.Sequential(weight_norm(torch.nn.Conv1d(2, 4, 3)))
    assert '0.weight_g' in old.state_dict() and '0.parametrizations.weight.original0' in new.state_dict()
    checkpoints.load_weights(new, old.state_dict(), source='old.pth')
    x = torch.randn(1, 2, 9)
    assert torch.allclose(new(x), old(x), atol=1e-6)
    wrong = {**old.state_dict(), '0.weight_v': torch.zeros(4, 2, 5)}
    with pytest.raises(checkpoints.CheckpointMismatchError,
                       match=r'0\.parametrizations\.weight\.original1: checkpoint \(4, 2, 5\), model \(4, 2, 3\)'):
        checkpoints.check_state_dict(new, wrong, 'old.pth')
