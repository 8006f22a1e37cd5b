"""Walk-forward fits on three executors (this process, a local process pool, a real Dask
``LocalCluster`` with two worker processes) give the same trades, metrics and weight history,
float for float."""

from __future__ import annotations

import dataclasses
import logging
import os
import re
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from rl_pipeline.config import SessionConfig
from rl_pipeline.parallel.executors import (
    DaskExecutor,
    InProcessExecutor,
    ProcessPoolTaskExecutor,
)
from rl_pipeline.parallel.session_executor import (
    close_executors,
    configured_executor,
    running_executor,
)
from rl_pipeline.session.stages import run_session
from rl_pipeline.store.bars import write_bars
from rl_pipeline.store.connection import open_store

CONFIG = SessionConfig(test_period_days=10, backtest={"history_days": 10})


def square_and_pid(x: int) -> tuple[int, int]:
    return x * x, os.getpid()


def test_executors_keep_the_order_of_the_items_and_report_progress() -> None:
    seen: list[tuple[int, int]] = []
    items = list(range(7))
    inline = InProcessExecutor().map(square_and_pid, items, lambda d, t: seen.append((d, t)))
    assert [r for r, _ in inline] == [x * x for x in items]
    assert {pid for _, pid in inline} == {os.getpid()}
    assert seen == [(d, 7) for d in range(1, 8)]

    pool = ProcessPoolTaskExecutor(workers=2)
    try:
        seen.clear()
        pooled = pool.map(square_and_pid, items, lambda d, t: seen.append((d, t)))
    finally:
        pool.close()
    assert [r for r, _ in pooled] == [x * x for x in items]
    assert os.getpid() not in {pid for _, pid in pooled}, "the pool ran them elsewhere"
    assert [d for d, _ in seen] == list(range(1, 8))


def fail_first_then_mark(task: tuple[Path, int]) -> int:
    """Item 0 fails at once; the others take a while and leave a file when they end."""
    folder, k = task
    if k == 0:
        raise ValueError(f"item {k} is bad")
    time.sleep(0.4)
    (folder / f"ended-{k}").touch()
    return k


def exit_in_a_worker(task: tuple[int, int]) -> int:
    caller, k = task
    if k == 0 and os.getpid() != caller:
        os._exit(3)  # a worker dying mid-batch, as the kernel's OOM killer would end it
    time.sleep(0.2)
    return k


def test_a_failed_task_stops_the_batch_once_the_running_tasks_have_ended(
    tmp_path: Path,
) -> None:
    """The tasks not started are dropped (loky has handed a few to its workers already:
    those run); the error is raised only after the running ones have ended (they may read
    the batch's shared memory, removed next)."""
    marks = tmp_path / "marks"
    marks.mkdir()
    pool = ProcessPoolTaskExecutor(workers=2)
    try:
        with pytest.raises(ValueError, match="item 0 is bad"):
            pool.map(fail_first_then_mark, [(marks, k) for k in range(20)])
        ended = {p.name for p in marks.iterdir()}
        time.sleep(0.8)
        assert {p.name for p in marks.iterdir()} == ended, "no task was still running"
        assert len(ended) <= 10, f"the batch went on after the error: {sorted(ended)}"
        assert [r for r, _ in pool.map(square_and_pid, [2, 3])] == [4, 9], "the pool works"
    finally:
        pool.close()


def test_a_worker_that_dies_fails_its_batch_and_the_next_batch_gets_a_new_pool() -> None:
    from joblib.externals.loky.process_executor import TerminatedWorkerError

    pool = ProcessPoolTaskExecutor(workers=2)
    try:
        with pytest.raises(TerminatedWorkerError):
            pool.map(exit_in_a_worker, [(os.getpid(), k) for k in range(4)])
        # A process that lives on (the API server, a campaign) keeps running sessions.
        assert [r for r, _ in pool.map(square_and_pid, [2, 3])] == [4, 9]
    finally:
        pool.close()


def test_light_work_goes_to_running_workers_but_never_boots_a_pool(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A report's charts use the pool only when the session's fits have started it."""
    monkeypatch.setenv("RL_PIPELINE_EXECUTOR", "process_pool")
    monkeypatch.setenv("RL_PIPELINE_WORKERS", "2")
    close_executors()
    try:
        assert isinstance(running_executor(), InProcessExecutor)
        pool = configured_executor()
        assert isinstance(running_executor(), InProcessExecutor), "created, not started"
        pool.map(square_and_pid, [1, 2])
        assert running_executor() is pool
    finally:
        close_executors()
    assert isinstance(running_executor(), InProcessExecutor), "closed"


@pytest.fixture
def dask_cluster() -> Iterator[str]:
    """A real Dask ``LocalCluster``: two single-threaded worker processes on 127.0.0.1."""
    from distributed import LocalCluster

    # Dask's nannies write their workers' settings (MALLOC_TRIM_THRESHOLD_, OMP_NUM_THREADS,
    # PYTHONHASHSEED) into the environment of the process that starts them: this one's is put
    # back, so no later test or process it starts inherits them.
    environment = dict(os.environ)
    try:
        with LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
            host="127.0.0.1",
        ) as cluster:  # fmt: skip
            yield cluster.scheduler_address
    finally:
        os.environ.clear()
        os.environ.update(environment)


@dataclasses.dataclass(frozen=True)
class RowsTask:
    x: np.ndarray  # shared by every task
    rows: np.ndarray  # this task's own


def pid_and_row_sum(task: RowsTask) -> tuple[int, float]:
    time.sleep(0.2)  # long enough that both workers take tasks
    return os.getpid(), float(task.x[task.rows].sum())


@pytest.mark.slow
def test_dask_workers_hold_the_shared_array_before_their_first_task(dask_cluster: str) -> None:
    """The array every task shares goes to every worker with the batch, so the scheduler can
    spread the tasks by load (one worker had run four of five LightGBM fits, the one holding
    the feature matrix)."""
    from distributed import Client, get_task_stream

    rng = np.random.default_rng(5)
    x = rng.normal(size=(300_000, 4))  # 9.6 MB
    tasks = [RowsTask(x, np.arange(k, 300_000, 3, dtype=np.int64)) for k in range(6)]
    with Client(dask_cluster) as client:
        executor = DaskExecutor(client=client)
        with get_task_stream(client) as stream:
            results = executor.map(pid_and_row_sum, tasks)
        executor.close()
    assert [total for _, total in results] == [float(x[t.rows].sum()) for t in tasks]
    assert len({pid for pid, _ in results}) == 2, "both workers ran tasks"
    waits = [s for r in stream.data for s in r["startstops"] if s["action"] == "transfer"]
    assert waits == [], "no task waited for the array to come from another worker"


def report_images(data: Path) -> list[str]:
    """The inline PNG charts of the one session report under ``data``."""
    (report,) = data.rglob("report.html")
    return re.findall(r'src="data:image/png;base64,([^"]+)"', report.read_text())


def stored_numbers(db: Path) -> dict[str, pd.DataFrame]:
    conn = sqlite3.connect(db)
    try:
        return {
            "trades": pd.read_sql(
                "SELECT symbol, entry_time, exit_time, entry_price, exit_price, direction, pnl, "
                "pnl_percent, confidence, ai_model_id FROM trade_results "
                "ORDER BY ai_model_id, symbol, entry_time",
                conn,
            ),
            "metrics": pd.read_sql(
                "SELECT model_id, win_rate, total_pnl, avg_trade_pnl, sharpe_ratio, "
                "max_drawdown, total_trades FROM performance_metrics ORDER BY model_id",
                conn,
            ),
            "history": pd.read_sql(
                "SELECT model_id, old_weight, new_weight, updated_at, reason, "
                "json_extract(trade_context, '$.seq') AS seq FROM model_weight_history "
                "ORDER BY seq, model_id",
                conn,
            ),
        }
    finally:
        conn.close()


def session_on(
    tmp_path: Path, name: str, bars: pd.DataFrame, monkeypatch: pytest.MonkeyPatch, **env: str
) -> dict[str, pd.DataFrame]:
    """A session on ``bars`` in a store of its own, with ``env`` choosing the executor."""
    data = tmp_path / name
    data.mkdir()
    with monkeypatch.context() as m:
        m.setenv("RL_PIPELINE_DATA_DIR", str(data))
        m.setenv("RL_PIPELINE_DB", str(data / "db.sqlite"))
        m.setenv("RL_PIPELINE_PARALLEL_MIN_ROWS", "0")  # these small fits go to the executor
        for key, value in env.items():
            m.setenv(key, value)
        conn = open_store(data / "db.sqlite")
        try:
            write_bars(conn, bars, source="test")
            run_session(conn, CONFIG, publish=True)
        finally:
            conn.close()
            close_executors()
    return {**stored_numbers(data / "db.sqlite"), "charts": report_images(data)}


@pytest.mark.slow
def test_in_process_pool_and_dask_give_identical_sessions(
    tmp_path: Path,
    small_bars: pd.DataFrame,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    dask_cluster: str,
) -> None:
    caplog.set_level(logging.INFO, logger="rl_pipeline")
    inline = session_on(
        tmp_path, "inline", small_bars, monkeypatch, RL_PIPELINE_EXECUTOR="in_process"
    )
    assert len(inline["trades"]) > 0 and len(inline["history"]) > 0
    pooled = session_on(
        tmp_path,
        "pool",
        small_bars,
        monkeypatch,
        RL_PIPELINE_EXECUTOR="process_pool",
        RL_PIPELINE_WORKERS="2",
    )
    on_dask = session_on(
        tmp_path, "dask", small_bars, monkeypatch, RL_PIPELINE_DASK_ADDRESS=dask_cluster
    )
    # Each run's fits went where it said (the progress lines name the executor).
    ran_on = {r.args[3] for r in caplog.records if "walk-forward fits" in r.getMessage()}
    assert ran_on == {"in_process", "process_pool", "dask"}
    for name in ("trades", "metrics", "history"):
        pd.testing.assert_frame_equal(pooled[name], inline[name], check_exact=True)
        pd.testing.assert_frame_equal(on_dask[name], inline[name], check_exact=True)
    # The report's charts, drawn by the workers that ran the fits, are the same pictures.
    assert len(inline["charts"]) == 3
    assert pooled["charts"] == inline["charts"] and on_dask["charts"] == inline["charts"]


def test_a_session_reports_its_fits_while_they_run(
    small_store: sqlite3.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``walk-forward fits k/n`` with an ETA is stored while the signals stage runs (what
    ``session start --wait`` prints) and cleared when the next stage starts."""
    from rl_pipeline.store import sessions

    monkeypatch.setenv("RL_PIPELINE_SIGNAL_CACHE", "0")
    seen: list[str | None] = []
    record = sessions.set_progress

    def remember(conn, session_id, text):  # the real write, observed
        seen.append(text)
        record(conn, session_id, text)

    monkeypatch.setattr(sessions, "set_progress", remember)
    summary = run_session(small_store, CONFIG)
    assert seen, "no progress was reported"
    done = [tuple(map(int, text.split()[2].rstrip(",").split("/"))) for text in seen]
    total = done[-1][1]
    assert done[-1] == (total, total) and total > 0
    assert [d for d, _ in done] == sorted(d for d, _ in done)
    assert all("ETA" in text for text in seen)
    row = sessions.get_session(small_store, summary.session_id)
    assert row["progress"] is None, "the later stages cleared it"


def test_every_model_of_a_session_fits_on_one_feature_matrix(
    small_store: sqlite3.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    """LavaAI and LGBMAI read the same features: one matrix in memory, shipped once."""
    from rl_pipeline.session import stages

    monkeypatch.setenv("RL_PIPELINE_SIGNAL_CACHE", "0")
    batches: list[list] = []
    real_run_fits = stages.run_fits

    def observed(executor, fits, progress=None):  # the real fits, their tasks remembered
        batches.append(list(fits))
        return real_run_fits(executor, fits, progress)

    monkeypatch.setattr(stages, "run_fits", observed)
    run_session(small_store, CONFIG)
    (fits,) = batches
    assert {f.model_class.__name__ for f in fits} == {"LavaAI", "LGBMAI"}
    assert len({id(f.x) for f in fits}) == 1
