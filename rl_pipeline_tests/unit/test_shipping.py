"""Large arrays of a batch of tasks are shipped once (a shared-memory file for the process pool)
and every task sees the very same values; the files are gone afterwards."""

from __future__ import annotations

import dataclasses
import pickle
from pathlib import Path

import numpy as np

from rl_pipeline.parallel.shipping import SharedArray, in_shared_memory, resolve_fields


@dataclasses.dataclass(frozen=True)
class Task:
    x: np.ndarray
    rows: np.ndarray
    small: np.ndarray
    name: str


def test_large_arrays_are_written_once_and_resolve_to_the_same_values() -> None:
    rng = np.random.default_rng(3)
    x = np.asfortranarray(rng.normal(size=(300_000, 4)))  # 9.6 MB, column-major like pandas
    tasks = [
        Task(x, np.arange(k, 300_000, 2, dtype=np.int64), np.arange(3), f"t{k}") for k in (0, 1)
    ]
    with in_shared_memory(tasks) as shipped:
        assert isinstance(shipped[0].x, SharedArray) and isinstance(shipped[0].rows, SharedArray)
        assert shipped[0].x.path == shipped[1].x.path, "one file for the array both tasks share"
        assert isinstance(shipped[0].small, np.ndarray), "small arrays travel with the task"
        folder = Path(shipped[0].x.path).parent
        assert len(list(folder.iterdir())) == 3  # x once, and each task's rows
        for task, sent in zip(tasks, shipped, strict=True):
            back = resolve_fields(pickle.loads(pickle.dumps(sent)))  # as a worker sees it
            assert np.array_equal(back.x, task.x) and back.x.flags.f_contiguous
            assert np.array_equal(back.x[back.rows], task.x[task.rows])
            assert back.name == task.name
    assert not folder.exists()
