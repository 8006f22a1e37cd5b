"""Large arrays shared by many tasks are shipped once per batch, not once per task.

Walk-forward fits of one model all read the same feature matrix (each through its own row
indices). Pickling it into every task would copy it once per fit; instead the process pool puts
each distinct large array of a batch in shared memory once, and the Dask executor sends each
array several tasks share to every worker once, before the tasks; a task carries only a
reference. The task sees the very same bytes either way, so results do not change."""

from __future__ import annotations

import dataclasses
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

LARGE_BYTES = 1 << 20  # arrays from 1 MB on are shipped once


class SharedArray:
    """A read-only array in a file in shared memory (``/dev/shm`` where it exists), mapped by
    each reader; pickles as its path."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._array: np.ndarray | None = None

    def array(self) -> np.ndarray:
        if self._array is None:
            self._array = np.load(self.path, mmap_mode="r")
        return self._array

    def __reduce__(self):
        return (SharedArray, (self.path,))


def resolve_fields(item: Any) -> Any:
    """``item`` with every shipped array field mapped back to an array (in the worker)."""
    if not dataclasses.is_dataclass(item):
        return item
    shared = {
        f.name: getattr(item, f.name).array()
        for f in dataclasses.fields(item)
        if isinstance(getattr(item, f.name), SharedArray)
    }
    return dataclasses.replace(item, **shared) if shared else item


def _large_fields(item: Any) -> dict[str, np.ndarray]:
    if not dataclasses.is_dataclass(item):
        return {}
    return {
        f.name: getattr(item, f.name)
        for f in dataclasses.fields(item)
        if isinstance(getattr(item, f.name), np.ndarray)
        and getattr(item, f.name).nbytes >= LARGE_BYTES
    }


@contextmanager
def in_shared_memory(items: Sequence[Any]) -> Iterator[list[Any]]:
    """``items`` with each distinct large array field written once to a shared-memory file;
    the files are removed afterwards."""
    shm = Path("/dev/shm")
    folder = Path(tempfile.mkdtemp(prefix="rl_pipeline-", dir=shm if shm.is_dir() else None))
    written: dict[int, SharedArray] = {}
    shipped = []
    try:
        for item in items:
            changes = {}
            for name, array in _large_fields(item).items():
                if id(array) not in written:
                    path = folder / f"{len(written)}.npy"
                    np.save(path, array)
                    written[id(array)] = SharedArray(str(path))
                changes[name] = written[id(array)]
            shipped.append(dataclasses.replace(item, **changes) if changes else item)
        yield shipped
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def shared_large_arrays(items: Sequence[Any]) -> dict[int, np.ndarray]:
    """The large arrays that more than one of ``items`` holds, by ``id``: the ones worth
    scattering once (an array only one task holds travels with that task)."""
    holders: dict[int, int] = {}
    arrays: dict[int, np.ndarray] = {}
    for item in items:
        for array in _large_fields(item).values():
            holders[id(array)] = holders.get(id(array), 0) + 1
            arrays[id(array)] = array
    return {key: arrays[key] for key, count in holders.items() if count > 1}


def split_large(item: Any, scattered: dict[int, Any]) -> tuple[Any, dict[str, Any]]:
    """For Dask: ``item`` without the large arrays ``scattered`` holds (by ``id``), and those
    arrays' futures by field name; its other arrays stay in it."""
    futures = {
        name: scattered[id(array)]
        for name, array in _large_fields(item).items()
        if id(array) in scattered
    }
    light = dataclasses.replace(item, **dict.fromkeys(futures)) if futures else item
    return light, futures


def join_large(item: Any, arrays: dict[str, np.ndarray]) -> Any:
    return dataclasses.replace(item, **arrays) if arrays else item
