"""Shared plumbing for the audio-cookbook notebooks: everything a reader need not read.

Every notebook does ``import cookbook`` in its first cell. One module per concern:

* ``cookbook.env``: paths, settings from the environment, fast/offline mode, device, seeding,
  notices, and the Colab set-up;
* ``cookbook.assets``: the registry of real datasets and checkpoints, resumable verified
  downloads, safe archive extraction;
* ``cookbook.checkpoints``: loading third-party PyTorch checkpoints without running their code;
* ``cookbook.display``: audio players and plots; ``cookbook.files``: atomic writes;
* ``cookbook.notebook``: importing a notebook's tagged cells (the tests use it);
* per-recipe plumbing, imported by the notebook that needs it: ``cookbook.speech_commands``,
  ``cookbook.tts_text``, ``cookbook.midi``.

The general names are re-exported here (``cookbook.fetch_asset``, ``cookbook.play_audio``...).
Importing the package is cheap: PyTorch, TensorFlow, librosa and matplotlib are imported inside
the functions that need them.
"""
from .env import (CHECKPOINT_DIR, DATA_DIR, REPO_ROOT, REPO_URL, SAMPLES_DIR, colab_setup,
                  describe_device, env_bool, env_float, env_int, env_list, env_str, gpu_available,
                  import_triton_before_tensorflow, is_colab, is_fast, network_allowed, notice,
                  output_dir, quiet_native_logs, quiet_tensorflow, seed_everything, torch_device)
from .assets import (ASSETS, Asset, DownloadError, OfflineError, download, fetch_asset,
                     safe_extract, sha256sum)
from .checkpoints import (CheckpointMismatchError, UnsafeCheckpointError, check_state_dict,
                          load_pickled_module_state_dict, load_state_dict_file, load_weights,
                          safe_torch_load)
from .display import (play_audio, plot_confusion, plot_melspectrogram, plot_spectrogram,
                      plot_training_curves, plot_waveform)
from .files import atomic_path, save_figure, write_wav
from .notebook import import_notebook_code

__all__ = [
    'REPO_ROOT', 'DATA_DIR', 'SAMPLES_DIR', 'CHECKPOINT_DIR', 'REPO_URL',
    'is_fast', 'is_colab', 'network_allowed', 'output_dir', 'gpu_available',
    'env_str', 'env_int', 'env_float', 'env_bool', 'env_list',
    'describe_device', 'torch_device', 'import_triton_before_tensorflow', 'quiet_native_logs',
    'quiet_tensorflow', 'seed_everything', 'notice', 'colab_setup',
    'DownloadError', 'OfflineError', 'Asset', 'ASSETS', 'download', 'fetch_asset', 'sha256sum',
    'safe_extract',
    'UnsafeCheckpointError', 'CheckpointMismatchError', 'check_state_dict', 'load_weights',
    'load_state_dict_file', 'load_pickled_module_state_dict', 'safe_torch_load',
    'play_audio', 'plot_waveform', 'plot_spectrogram', 'plot_melspectrogram', 'plot_training_curves',
    'plot_confusion',
    'write_wav', 'atomic_path', 'save_figure',
    'import_notebook_code',
]
