"""Loading third-party PyTorch checkpoints without running code from them, and checking that a
state dict fits a model before loading it.

Two loaders, chosen by the file's format:

* zip files (``torch.save`` since PyTorch 1.6): torch's own ``torch.load(weights_only=True)``.
  Classes that may appear as inert records (``torch.nn.*`` and the caller's prefixes, e.g.
  ``models.*`` for the released DC-TTS pickles) are found first with
  ``torch.serialization.get_unsafe_globals_in_checkpoint`` and registered as
  ``(stand_in_class, 'models.text2mel.Text2Mel')`` pairs with ``torch.serialization.safe_globals``;
  any other global is refused before anything is unpickled.
* legacy files (PyTorch <= 1.5, e.g. the 2018 DC-TTS releases): a hand-written restricted
  unpickler, because torch's weights-only unpickler cannot read a *whole pickled module* in this
  format: the legacy format stores every module class as a persistent id ``('module', class,
  source file, source)``, and torch's unpickler accepts only storages as persistent ids
  ("Only persistent_load of storage is allowed", PyTorch 2.6 to 2.13). Plain state dicts in the
  legacy format do load with torch's loader, and ``load_state_dict_file`` tries it first.
"""
from __future__ import annotations

import _compat_pickle
import os
import pickle
import types
import warnings
import zipfile
from collections import OrderedDict
from pathlib import Path
from typing import Any, Mapping

import numpy as np

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


def _refusal(source: str, qualnames: str | list[str], stand_in_prefixes: tuple[str, ...],
             stand_ins: Mapping[str, type]) -> UnsafeCheckpointError:
    qualnames = [qualnames] if isinstance(qualnames, str) else qualnames
    allowed_text = ', '.join(['tensors', 'plain containers',
                              *(repr(prefix + '*') for prefix in stand_in_prefixes),
                              *(repr(name) for name in stand_ins)])
    return UnsafeCheckpointError(
        f'{source}: refusing to load global{"s" if len(qualnames) > 1 else ""} '
        f'{", ".join(map(repr, qualnames))}: not on the allow-list ({allowed_text}), and loading '
        f'could run code from the file. If you trust a class, map it to a class of your own: '
        f'safe_torch_load(path, stand_ins={{{qualnames[0]!r}: YourClass}}).')


def _python3_name(qualname: str) -> str:
    """Protocol-2 pickles written by Python 3 carry Python 2 names ('__builtin__.eval',
    'commands.call' for subprocess.call); torch's unpickler maps them back, its listing does not."""
    module, _, name = qualname.rpartition('.')
    if (module, name) in _compat_pickle.NAME_MAPPING:
        module, name = _compat_pickle.NAME_MAPPING[(module, name)]
    return f'{_compat_pickle.IMPORT_MAPPING.get(module, module)}.{name}'


def _weights_only_load(path: Path, stand_in_prefixes: tuple[str, ...],
                       stand_ins: Mapping[str, type]):
    """A zip-format file through torch's own weights-only unpickler, with stand-ins registered
    for the allowed classes it names; any other global is refused before loading."""
    import torch
    try:
        unsafe = torch.serialization.get_unsafe_globals_in_checkpoint(path)
    except Exception as error:
        raise ValueError(f'{path}: cannot read this file as a PyTorch checkpoint: {error}') from error
    pairs, refused = [], []
    for qualname in sorted({_python3_name(name) for name in unsafe}):
        if qualname in stand_ins:
            pairs.append((stand_ins[qualname], qualname))
        elif qualname.startswith(stand_in_prefixes):
            pairs.append((_standin_for(qualname), qualname))
        else:
            refused.append(qualname)
    if refused:
        raise _refusal(str(path), refused, stand_in_prefixes, stand_ins)
    with torch.serialization.safe_globals(pairs):
        try:
            return torch.load(path, map_location='cpu', weights_only=True)
        except pickle.UnpicklingError as error:  # e.g. a class pushed on the stack dynamically
            raise UnsafeCheckpointError(f'{path}: torch refused to load it: {error}') from None
        except Exception as error:
            raise ValueError(f'{path}: cannot read this file as a PyTorch checkpoint: {error}') from error


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
            raise _refusal(source, qualname, stand_in_prefixes, stand_ins)

    def load(file, **kwargs):
        return RestrictedUnpickler(file, **kwargs).load()

    return types.SimpleNamespace(__name__='cookbook_restricted_pickle',
                                 Unpickler=RestrictedUnpickler, load=load,
                                 UnpicklingError=pickle.UnpicklingError)


def _check_not_a_page(path: Path) -> None:
    """A clear error for the files a bad download or a browser leaves: empty, or an HTML page."""
    from .assets import content_problem
    if not path.is_file():
        raise FileNotFoundError(f'checkpoint not found: {path}')
    problem = content_problem(path, what='a PyTorch checkpoint')
    if problem is not None:
        raise ValueError(f'{path} is {problem}. Delete it and download it again: '
                         'cookbook.fetch_asset checks what it downloads')


def _restricted_torch_load(path: str | os.PathLike, stand_in_prefixes: tuple[str, ...],
                           stand_ins: Mapping[str, type]):
    import torch
    path = Path(path)
    _check_not_a_page(path)
    # torch >= 2.6 lists a file's globals and takes (class, name) pairs (Colab: 2.11, here: 2.13).
    if zipfile.is_zipfile(path) and hasattr(torch.serialization, 'get_unsafe_globals_in_checkpoint'):
        return _weights_only_load(path, stand_in_prefixes, stand_ins)
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
# State dicts: what a file holds, and whether it fits a model
# --------------------------------------------------------------------------------------

class CheckpointMismatchError(ValueError):
    """A state dict does not fit the model: the message lists the keys and shapes that differ."""


def _model_state(checkpoint, source) -> dict:
    """The model weights inside a loaded checkpoint: a plain state dict, {'state_dict': ...}
    (pytorch-dc-tts's training checkpoints) or {'model': ...} (the notebooks' own)."""
    import torch
    state = checkpoint
    for key in ('model', 'state_dict'):
        if isinstance(state, dict) and isinstance(state.get(key), dict):
            state = state[key]
            break
    if not (isinstance(state, dict) and state and all(torch.is_tensor(v) for v in state.values())):
        found = sorted(checkpoint)[:8] if isinstance(checkpoint, dict) else type(checkpoint).__name__
        raise ValueError(f'{source} holds no model weights (found {found}): expected a state dict, '
                         "a training checkpoint (with a 'model' or 'state_dict' entry) or a pickled module")
    return OrderedDict((k, v.detach()) for k, v in state.items())


def load_state_dict_file(path: str | os.PathLike, allowed_prefixes: tuple[str, ...] = ('models.',)
                         ) -> OrderedDict:
    """The model weights in a checkpoint file, of any of these kinds, without running its code:
    a state dict, a training checkpoint ({'model': ...} or {'state_dict': ...}), or a whole pickled
    module whose classes are torch.nn ones or start with ``allowed_prefixes``.

    torch.load(weights_only=True) reads everything it can; whole modules go through
    load_pickled_module_state_dict. Refused globals raise UnsafeCheckpointError naming them.
    """
    import torch
    path = Path(path)
    _check_not_a_page(path)
    try:
        checkpoint = torch.load(path, map_location='cpu', weights_only=True)
    except Exception:  # a pickled module (or worse): the allow-listed loaders decide
        return load_pickled_module_state_dict(path, allowed_prefixes)
    return _model_state(checkpoint, path)


def _weight_norm_names(state: Mapping, expected: Mapping) -> dict:
    """Map torch.nn.utils.weight_norm's names (x.weight_g, x.weight_v: the released files) to
    those of torch.nn.utils.parametrizations.weight_norm (x.parametrizations.weight.original0/1)
    where the model uses the latter. Loading does this by itself; checking needs it too."""
    renamed = {}
    for key, value in state.items():
        for old, new in (('.weight_g', '.parametrizations.weight.original0'),
                         ('.weight_v', '.parametrizations.weight.original1')):
            if key.endswith(old) and key[:-len(old)] + new in expected:
                key = key[:-len(old)] + new
        renamed[key] = value
    return renamed


def check_state_dict(model, state: Mapping, source: str = 'checkpoint', limit: int = 12) -> None:
    """Raise CheckpointMismatchError listing missing keys, unexpected keys and shape mismatches."""
    expected = model.state_dict()
    state = _weight_norm_names(state, expected)
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    wrong_shape = [f'{k}: checkpoint {tuple(state[k].shape)}, model {tuple(expected[k].shape)}'
                   for k in expected if k in state and tuple(state[k].shape) != tuple(expected[k].shape)]
    if not (missing or unexpected or wrong_shape):
        return
    lines = [f'{source} does not fit {type(model).__name__} ({len(state)} keys in the file, '
             f'{len(expected)} in the model):']
    for title, items in (('missing from the file', missing), ('unexpected in the file', unexpected),
                         ('different shapes', wrong_shape)):
        if items:
            more = ', ...' if len(items) > limit else ''
            lines.append(f'  {title} ({len(items)}): {", ".join(items[:limit])}{more}')
    lines.append('Is it the right file for this network, and were its hyper-parameters the same?')
    raise CheckpointMismatchError('\n'.join(lines))


def load_weights(model, checkpoint, allowed_prefixes: tuple[str, ...] = ('models.',),
                 source: str | None = None):
    """Load a checkpoint (a file of any kind load_state_dict_file reads, or a state dict) into
    ``model`` key for key, after check_state_dict; returns the model in eval mode."""
    if isinstance(checkpoint, (str, os.PathLike)):
        source = source or str(checkpoint)
        checkpoint = load_state_dict_file(checkpoint, allowed_prefixes)
    state = _weight_norm_names(checkpoint, model.state_dict())
    check_state_dict(model, state, source or 'checkpoint')
    model.load_state_dict({k: v.float() for k, v in state.items()})
    return model.eval()
