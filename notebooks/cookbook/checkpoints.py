"""Loading third-party PyTorch checkpoints without running code from them."""
from __future__ import annotations

import _compat_pickle
import os
import pickle
import types
import warnings
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
            allowed_text = ', '.join(['tensors', 'plain containers',
                                      *(repr(prefix + '*') for prefix in stand_in_prefixes),
                                      *(repr(name) for name in stand_ins)])
            raise UnsafeCheckpointError(
                f'{source}: refusing to load global {qualname!r}: it is not on the allow-list '
                f'({allowed_text}), and loading it could run code from the file. If you trust '
                f'this class, map it to a class of your own: '
                f'safe_torch_load(path, stand_ins={{{qualname!r}: YourClass}}).')

    def load(file, **kwargs):
        return RestrictedUnpickler(file, **kwargs).load()

    return types.SimpleNamespace(__name__='cookbook_restricted_pickle',
                                 Unpickler=RestrictedUnpickler, load=load,
                                 UnpicklingError=pickle.UnpicklingError)


def _restricted_torch_load(path: str | os.PathLike, stand_in_prefixes: tuple[str, ...],
                           stand_ins: Mapping[str, type]):
    import torch
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f'checkpoint not found: {path}')
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


