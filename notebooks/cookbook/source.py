"""Showing a package's code in a notebook, so that the code a reader reads is the code that runs.

``show(dctts.C, dctts.decode)`` displays the source of each object (syntax-highlighted in
Jupyter and Colab, plain text elsewhere), read from the module with ``inspect.getsource``: there
is no second copy to drift from the one that runs.
"""
from __future__ import annotations

import inspect


def source_of(*objects) -> str:
    """The source code of classes and functions, one after the other (a blank line apart)."""
    if not objects:
        raise ValueError('source_of needs at least one class or function')
    parts = []
    for obj in objects:
        try:
            parts.append(inspect.getsource(obj).rstrip())
        except (TypeError, OSError) as error:
            raise TypeError(f'cannot show the source of {obj!r}: {error}; pass a class or a function '
                            'defined in a .py file') from None
    return '\n\n\n'.join(parts) + '\n'


def show(*objects) -> None:
    """Display the source of classes and functions, syntax-highlighted where IPython can."""
    text = source_of(*objects)
    try:
        from IPython import get_ipython
        from IPython.display import Code, display
    except ImportError:
        print(text)
        return
    if get_ipython() is None:
        print(text)
    else:
        display(Code(text, language='python'))
