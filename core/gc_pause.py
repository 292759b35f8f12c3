"""Pausing Python's cyclic garbage collector around one burst of allocations."""

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector for one unit of work (an export run, a
    batch of profile writes).

    Such work allocates many short-lived, acyclic objects (rows, records), and
    each allocation burst triggers collections; the objects that live until the
    work ends are promoted to the oldest generation and soon trigger a full
    collection that scans the process's whole heap. Measured, those cost more
    than the database work. Refcounting still frees everything; the collector
    runs again afterwards. Nesting is safe: only the outermost pause re-enables.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
