"""Execute the cookbook's notebooks headless and keep the executed copies.

    python scripts/run_notebooks.py                 # all notebooks in notebooks/
    python scripts/run_notebooks.py 02_text_to_speech.ipynb --timeout 3600

Each notebook runs in a fresh kernel with notebooks/ as its working directory, exactly as in
Jupyter. The executed copy (with outputs) is written to <outputs>/executed/<name>.ipynb, where
<outputs> is COOKBOOK_OUTPUT_DIR or outputs/; the notebooks write their own results (audio,
MIDI, figures) under the same folder. A failing notebook does not stop the others; the exit status
is non-zero when any failed.

The kernel talks to this script over local (IPC) sockets in a private temporary folder, not
TCP, so nothing travels unencrypted through the network stack (and ipykernel has no reason to
warn about it). Notebooks are read and written with their cell ids as stored (nbformat 4.5).
"""
import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from jupyter_client.manager import KernelManager
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

REPO_ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS_DIR = REPO_ROOT / 'notebooks'


def output_root():
    root = Path(os.environ.get('COOKBOOK_OUTPUT_DIR') or REPO_ROOT / 'outputs')
    return root if root.is_absolute() else REPO_ROOT / root


def ipc_kernel_manager(folder):
    """A python3 kernel manager whose sockets are files under ``folder`` (absolute: the kernel
    starts in another working directory than this script)."""
    return KernelManager(kernel_name='python3', transport='ipc', ip=str(Path(folder).resolve() / 'kernel'))


def shut_down(client, manager):
    """Stop the kernel now and wait for it.

    nbclient shuts a kernel down only when it created the kernel manager itself; ours is passed in
    (for its IPC sockets), so without this the kernel outlived its notebook until this script
    exited, then printed "Parent appears to have exited, shutting down" after the results, and its
    CPU time never reached this process's children's times (what benchmarks/bench_notebooks.py reads).
    """
    if client.kc is not None:
        client.kc.stop_channels()
        client.kc = None
    try:
        if manager.has_kernel:
            manager.shutdown_kernel(now=False)  # asks the kernel to exit, waits, kills it if it hangs
    except RuntimeError as exc:  # already gone
        if 'No kernel is running' not in str(exc):
            raise
    finally:
        manager.cleanup_resources()


def execute(path, destination, timeout, cwd=NOTEBOOKS_DIR):
    """Run the notebook at ``path`` in a fresh kernel started in ``cwd``; write the executed copy
    to ``destination``. Returns the CellExecutionError of a failing cell, or None."""
    notebook = nbformat.read(path, as_version=4)
    sockets = tempfile.mkdtemp(prefix='cookbook-kernel-')  # private (mode 0700)
    manager = ipc_kernel_manager(sockets)
    client = NotebookClient(notebook, timeout=timeout, kernel_name='python3', km=manager,
                            resources={'metadata': {'path': str(cwd)}})
    error = None
    try:
        client.execute()
    except CellExecutionError as exc:
        error = exc
    finally:
        shut_down(client, manager)
        shutil.rmtree(sockets, ignore_errors=True)
        # Keep the executed copy even when a cell failed: it shows where and why.
        destination.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile('w', dir=destination.parent, suffix='.tmp',
                                         delete=False, encoding='utf-8') as tmp:
            nbformat.write(notebook, tmp)
        os.replace(tmp.name, destination)
    return error


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('notebooks', nargs='*', help='notebook file names in notebooks/ (default: all)')
    parser.add_argument('--timeout', type=int, default=7200, help='seconds allowed per cell (default 7200)')
    args = parser.parse_args(argv)

    names = args.notebooks or sorted(p.name for p in NOTEBOOKS_DIR.glob('*.ipynb'))
    unknown = [n for n in names if not (NOTEBOOKS_DIR / n).is_file()]
    if unknown:
        parser.error(f'no such notebook in {NOTEBOOKS_DIR}: {", ".join(unknown)}')

    # The kernel inherits this environment; keep relative output paths anchored at the repository.
    os.environ['COOKBOOK_OUTPUT_DIR'] = str(output_root())
    failures, summary = [], []
    for name in names:
        destination = output_root() / 'executed' / name
        print(f'[run] {name} ...', flush=True)
        started = time.perf_counter()
        error = execute(NOTEBOOKS_DIR / name, destination, args.timeout)
        seconds = time.perf_counter() - started
        shown = destination.relative_to(REPO_ROOT) if destination.is_relative_to(REPO_ROOT) else destination
        summary.append(f'[run]   {name}: {"OK" if error is None else "FAILED"} in {seconds:.0f} s -> {shown}')
        if error is None:
            print(f'[run] {name}: OK in {seconds:.0f} s -> {shown}')
        else:
            failures.append(name)
            last_line = str(error).strip().splitlines()[-1] if str(error).strip() else repr(error)
            print(f'[run] {name}: FAILED after {seconds:.0f} s: {last_line}\n'
                  f'[run]   the executed copy with the traceback is {destination}', file=sys.stderr)
    if len(names) > 1:
        print('[run] summary:', *summary, sep='\n')
    print(f'[run] results are in {output_root()}')
    return 1 if failures else 0


if __name__ == '__main__':
    sys.exit(main())
