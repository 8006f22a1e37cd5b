"""Benchmark: the work that does not depend on the weights, side by side.

1. A 64-symbol x 30-day session with its walk-forward fits in this process, on the local process
   pool (2 workers) and on a 2-worker Dask LocalCluster (set up as deploy/dask.yaml says; once in
   a first process, once in a second process that finds the workers running): wall time,
   speed-up, peak memory (the session's process, and the pool's workers). "wall" is the first
   session of a fresh process, whose workers boot while it runs; "warm" the median of the next
   three sessions in the same process, whose workers are running already (as for every session
   of a campaign or a sweep after the first, or in the API server). All fit their own models
   (the signal cache is off). In-process and pool runs take turns (two of each), and the figures
   are medians.
2. The same session as a Dagster run (``dagster job execute`` of reinforcement_session_job, a
   fresh process each time, as every scheduled or launched run is), fits in process versus on
   the pool (two of each, in turns): the command's wall, the run's wall (its event log) and the
   model_signals step, which holds the fits. The pool's workers boot while Dagster runs the
   steps before it.
3. A 12-session x 30-day campaign on the shipped data: sequential (each session fits its own
   models in its turn, no signal cache) versus parallel (every window's fits in one batch on the
   process pool first, then the weights in order).

Each variant runs in a fresh Python process on its own copy of the same store, so none inherits
another's warm caches. Every variant must give the same trades. Prints the figures and writes
them to bench/results/bench_parallel.json.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
SYMBOLS = 64
TEST_DAYS = 30
HISTORY_DAYS = 130  # the 90-day training window before the test period, and warm-up
CAMPAIGN_SESSIONS = 12
WARM_SESSIONS = 3  # "warm" is their median: one session's wall varies by some 10 % here
ROUNDS = 2  # in-process and pool runs, taken in turns
# The variants' environment, taken before a LocalCluster's nannies write theirs into this
# process's (MALLOC_*, OMP_NUM_THREADS): no variant inherits the Dask workers' settings.
BASE_ENVIRONMENT = dict(os.environ)

SESSION = """
import json, os, resource, time
import psutil
from rl_pipeline.config import SessionConfig
from rl_pipeline.parallel.session_executor import close_executors
from rl_pipeline.session.stages import run_session
from rl_pipeline.store.connection import open_store

def process_tree_cpu():
    # This process, its live workers, and the children it has already reaped.
    total = resource.getrusage(resource.RUSAGE_CHILDREN)
    seconds = total.ru_utime + total.ru_stime
    me = psutil.Process()
    for process in [me, *me.children(recursive=True)]:
        try:
            times = process.cpu_times()
        except psutil.NoSuchProcess:
            continue
        seconds += times.user + times.system
    return seconds

conn = open_store(os.environ["RL_PIPELINE_DB"])
walls, cpus = [], []
# The first session boots the workers; the next ones find them running.
for publish in (True,) + (False,) * WARM_SESSIONS:
    cpu = process_tree_cpu()
    start = time.perf_counter()
    summary = run_session(conn, SessionConfig(test_period_days=TEST_DAYS), publish=publish)
    walls.append(time.perf_counter() - start)
    cpus.append(process_tree_cpu() - cpu)
    if publish:
        trades = conn.execute(
            "SELECT COUNT(*), SUM(pnl) FROM trade_results WHERE session_id = ?",
            (summary.session_id,),
        ).fetchone()
close_executors()
own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
workers = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
print(json.dumps({"first_walls": walls[:1], "warm_walls": walls[1:], "first_cpus": cpus[:1],
                  "warm_cpus": cpus[1:], "peak_rss_mb": own, "peak_worker_rss_mb": workers,
                  "trades": trades[0], "pnl": trades[1]}))
""".replace("TEST_DAYS", str(TEST_DAYS)).replace("WARM_SESSIONS", str(WARM_SESSIONS))

CAMPAIGN = """
import json, os, resource, time
from rl_pipeline.config import SessionConfig
from rl_pipeline.parallel.session_executor import close_executors
from rl_pipeline.session.campaign import run_campaign
from rl_pipeline.store.connection import open_store
conn = open_store(os.environ["RL_PIPELINE_DB"])
start = time.perf_counter()
view = run_campaign(conn, SessionConfig(), sessions=SESSIONS, test_period_days=TEST_DAYS)
wall = time.perf_counter() - start
trades = conn.execute("SELECT COUNT(*), SUM(pnl) FROM trade_results").fetchone()
close_executors()
own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
workers = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
last = {k: v for k, v in view["curve"][-1].items() if k not in ("session_id",)}
print(json.dumps({"wall_s": wall, "peak_rss_mb": own, "peak_worker_rss_mb": workers,
                  "trades": trades[0], "pnl": trades[1], "last_curve_row": last}))
""".replace("SESSIONS", str(CAMPAIGN_SESSIONS)).replace("TEST_DAYS", str(TEST_DAYS))


DAGSTER_RUN_TIMES = """
import json, sys
import dagster as dg
instance = dg.DagsterInstance.get()
(run,) = instance.get_runs(limit=1)
records = instance.all_logs(run.run_id)
starts, ends = {}, {}
for r in records:
    kind = r.dagster_event.event_type if r.dagster_event else None
    if kind == dg.DagsterEventType.STEP_START:
        starts[r.step_key] = r.timestamp
    elif kind == dg.DagsterEventType.STEP_SUCCESS:
        ends[r.step_key] = r.timestamp
stamps = [r.timestamp for r in records]
print(json.dumps({"status": run.status.value, "run_s": max(stamps) - min(stamps),
                  "signals_s": ends["model_signals"] - starts["model_signals"]}))
"""


def run_dagster_session(base: Path, folder: Path, name: str, env: dict[str, str]) -> dict:
    """One session through ``dagster job execute`` on a copy of ``base``, with its own
    Dagster instance: the command's wall, the run's wall and the model_signals step."""
    data = folder / name
    (data / "dagster").mkdir(parents=True)
    shutil.copy(base, data / "db.sqlite")
    run_config = data / "session.yaml"
    run_config.write_text(
        yaml.safe_dump(
            {
                "ops": {"market_bars": {"config": {"test_period_days": TEST_DAYS}}},
                "loggers": {"console": {"config": {"log_level": "WARNING"}}},
            }
        )
    )
    environment = {
        **BASE_ENVIRONMENT,
        "RL_PIPELINE_DATA_DIR": str(data),
        "RL_PIPELINE_DB": str(data / "db.sqlite"),
        "DAGSTER_HOME": str(data / "dagster"),
        "PYTHONWARNINGS": "ignore",
        **env,
    }
    bin_dir = Path(sys.executable).parent

    def run(*args: str) -> str:
        return subprocess.run(
            list(args), env=environment, capture_output=True, text=True, check=True, cwd=ROOT
        ).stdout

    session_id = run(str(bin_dir / "rl-pipeline"), "session", "new").strip()
    start = time.perf_counter()
    run(
        str(bin_dir / "dagster"), "job", "execute", "-m", "rl_pipeline",
        "-j", "reinforcement_session_job", "-c", str(run_config),
        "--tags", json.dumps({"dagster/partition": session_id}),
    )  # fmt: skip
    command_s = time.perf_counter() - start
    times = json.loads(run(sys.executable, "-c", DAGSTER_RUN_TIMES).strip().splitlines()[-1])
    conn = sqlite3.connect(data / "db.sqlite")
    trades, pnl = conn.execute(
        "SELECT COUNT(*), SUM(pnl) FROM trade_results WHERE session_id = ?", (session_id,)
    ).fetchone()
    conn.close()
    return {"command_s": command_s, **times, "trades": trades, "pnl": pnl}


def dagster_table(runs: dict[str, list[dict]], baseline: str) -> dict[str, dict]:
    """Medians per variant, and the speed-up of each against ``baseline``."""
    keys = ("command_s", "run_s", "signals_s")
    medians = {
        name: {k: statistics.median(r[k] for r in rs) for k in keys} for name, rs in runs.items()
    }
    print(f"\nDagster session run, {SYMBOLS} symbols x {TEST_DAYS} days ({os.cpu_count()} cores)")
    print(f"{'variant':<22} {'command s':>10} {'run s':>7} {'run x':>6} {'model_signals s':>16} "
          f"{'x':>6}")  # fmt: skip
    for name, m in medians.items():
        base = medians[baseline]
        m["run_speed_up"] = base["run_s"] / m["run_s"]
        m["signals_speed_up"] = base["signals_s"] / m["signals_s"]
        print(
            f"{name:<22} {m['command_s']:>10.2f} {m['run_s']:>7.2f} {m['run_speed_up']:>5.2f}x "
            f"{m['signals_s']:>16.2f} {m['signals_speed_up']:>5.2f}x"
        )
    every = [r for rs in runs.values() for r in rs]
    same = len({(r["trades"], round(r["pnl"], 6)) for r in every}) == 1
    print(f"every run succeeded: {all(r['status'] == 'SUCCESS' for r in every)}; "
          f"identical trades and P&L: {same} ({every[0]['trades']} trades)")  # fmt: skip
    return {name: {**medians[name], "runs": rs} for name, rs in runs.items()}


def run_variant(code: str, base: Path, folder: Path, name: str, env: dict[str, str]) -> dict:
    data = folder / name
    data.mkdir()
    shutil.copy(base, data / "db.sqlite")
    environment = {
        **BASE_ENVIRONMENT,
        "RL_PIPELINE_DATA_DIR": str(data),
        "RL_PIPELINE_DB": str(data / "db.sqlite"),
        **env,
    }
    done = subprocess.run(
        [sys.executable, "-c", code], env=environment, capture_output=True, text=True, check=True
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def merged(runs: list[dict]) -> dict:
    """One variant's figures over its runs: the median first session (workers booting) and
    the median warm session; the largest peak memory."""
    first = [w for r in runs for w in r["first_walls"]]
    warm = [w for r in runs for w in r["warm_walls"]]
    return {
        "wall_s": statistics.median(first),
        "warm_wall_s": statistics.median(warm),
        "cpu_s": statistics.median(c for r in runs for c in r["first_cpus"]),
        "warm_cpu_s": statistics.median(c for r in runs for c in r["warm_cpus"]),
        "first_walls": first,
        "warm_walls": warm,
        "peak_rss_mb": max(r["peak_rss_mb"] for r in runs),
        "peak_worker_rss_mb": max(r["peak_worker_rss_mb"] for r in runs),
        "trades": runs[0]["trades"],
        "pnl": runs[0]["pnl"],
        "same_trades_every_run": len({(r["trades"], round(r["pnl"], 6)) for r in runs}) == 1,
    }


def build_stores(folder: Path) -> tuple[Path, Path]:
    from rl_pipeline.market.synthetic import generate_default_bars
    from rl_pipeline.market_data.setup import seed_default_bars
    from rl_pipeline.store.bars import write_bars
    from rl_pipeline.store.connection import open_store

    wide = folder / "wide.sqlite"
    conn = open_store(wide)
    symbols = tuple(f"S{i:02d}" for i in range(SYMBOLS))
    write_bars(conn, generate_default_bars(symbols=symbols, days=HISTORY_DAYS, seed=11), "bench")
    conn.close()
    shipped = folder / "shipped.sqlite"
    conn = open_store(shipped)
    seed_default_bars(conn)
    conn.close()
    return wide, shipped


def table(title: str, results: dict[str, dict], baseline: str) -> None:
    base = results[baseline]["wall_s"]
    warm_base = results[baseline].get("warm_wall_s")
    print(f"\n{title} ({os.cpu_count()} cores)")
    warm_head = f" {'warm s':>7} {'warm x':>7}" if warm_base else ""
    print(
        f"{'variant':<22} {'wall s':>8} {'speed-up':>9}{warm_head} {'peak MB':>8} "
        f"{'workers MB':>11} {'trades':>7}"
    )
    for name, r in results.items():
        r["speed_up"] = base / r["wall_s"]
        warm = ""
        if warm_base:
            r["warm_speed_up"] = warm_base / r["warm_wall_s"]
            warm = f" {r['warm_wall_s']:>7.2f} {r['warm_speed_up']:>6.2f}x"
        print(
            f"{name:<22} {r['wall_s']:>8.2f} {r['speed_up']:>8.2f}x{warm} "
            f"{r['peak_rss_mb']:>8.0f} {r['peak_worker_rss_mb']:>11.0f} {r['trades']:>7}"
        )
    same = len({(r["trades"], round(r["pnl"], 6)) for r in results.values()}) == 1 and all(
        r.get("same_trades_every_run", True) for r in results.values()
    )
    print(f"identical trades and P&L in every variant: {same}")


def cpu_table(results: dict[str, dict], baseline: str, pooled: str, cores: int) -> None:
    """The CPU a session spends (its process and its workers) and the wall it could not beat
    on ``cores`` cores even if every core were busy all the time: the bound on the speed-up."""
    print(f"\nCPU per session (the session's process and its workers; {cores} cores)")
    print(f"{'variant':<22} {'session':<8} {'cpu s':>7} {'cpu / cores s':>14} {'best x':>7}")
    for when, wall_key, cpu_key in (
        ("first", "wall_s", "cpu_s"),
        ("warm", "warm_wall_s", "warm_cpu_s"),
    ):
        base = results[baseline][wall_key]
        for name in (baseline, pooled):
            cpu = results[name][cpu_key]
            floor = cpu / (cores if name == pooled else 1)
            results[name][f"{when}_best_speed_up"] = base / floor
            print(f"{name:<22} {when:<8} {cpu:>7.2f} {floor:>14.2f} {base / floor:>6.2f}x")


def deploy_setting(key: str) -> object:
    """A setting of deploy/dask.yaml, by its dotted name."""
    value = yaml.safe_load((ROOT / "deploy" / "dask.yaml").read_text())
    for part in key.split("."):
        value = value[part]
    return value


def main() -> None:
    import dask
    from distributed import LocalCluster

    pool = {"RL_PIPELINE_EXECUTOR": "process_pool", "RL_PIPELINE_WORKERS": "2"}
    # Each session fits its own models: the second one measures warm workers, not the cache.
    uncached = {"RL_PIPELINE_SIGNAL_CACHE": "0"}
    session: dict[str, dict] = {}
    campaign: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        t = time.perf_counter()
        wide, shipped = build_stores(folder)
        print(f"stores built in {time.perf_counter() - t:.1f} s")
        # In turns, so a drift in this machine's speed does not favour either variant.
        rounds: dict[str, list[dict]] = {"in_process": [], "process_pool (2)": []}
        for turn in range(ROUNDS):
            rounds["in_process"].append(
                run_variant(
                    SESSION,
                    wide,
                    folder,
                    f"s-inline-{turn}",
                    {"RL_PIPELINE_EXECUTOR": "in_process", **uncached},
                )  # fmt: skip
            )
            rounds["process_pool (2)"].append(
                run_variant(SESSION, wide, folder, f"s-pool-{turn}", {**pool, **uncached})
            )
        session.update({name: merged(runs) for name, runs in rounds.items()})
        # The workers' settings the README deploys them with (deploy/dask.yaml).
        nanny_environ = "distributed.nanny.pre-spawn-environ"
        with (
            dask.config.set({nanny_environ: deploy_setting(nanny_environ)}),
            LocalCluster(
                n_workers=2,
                threads_per_worker=1,
                processes=True,
                dashboard_address=None,
                host="127.0.0.1",
            ) as cluster,
        ):
            on_cluster = {"RL_PIPELINE_DASK_ADDRESS": cluster.scheduler_address, **uncached}
            # A first process boots the cluster's workers' imports; a second process's first
            # session finds them done, as every session does once a cluster outlives processes.
            for turn, name in enumerate(("dask LocalCluster (2)", "dask, cluster running")):
                session[name] = merged(
                    [run_variant(SESSION, wide, folder, f"s-dask-{turn}", on_cluster)]
                )
        inline = {"RL_PIPELINE_EXECUTOR": "in_process", **uncached}
        dagster_runs: dict[str, list[dict]] = {"in_process": [], "process_pool (2)": []}
        for turn in range(ROUNDS):
            dagster_runs["in_process"].append(
                run_dagster_session(wide, folder, f"d-inline-{turn}", inline)
            )
            dagster_runs["process_pool (2)"].append(
                run_dagster_session(wide, folder, f"d-pool-{turn}", {**pool, **uncached})
            )
        campaign["sequential"] = run_variant(
            CAMPAIGN,
            shipped,
            folder,
            "c-seq",
            {"RL_PIPELINE_EXECUTOR": "in_process", "RL_PIPELINE_SIGNAL_CACHE": "0"},
        )
        campaign["parallel (pool of 2)"] = run_variant(CAMPAIGN, shipped, folder, "c-par", pool)
    table(f"{SYMBOLS}-symbol x {TEST_DAYS}-day session", session, "in_process")
    cpu_table(session, "in_process", "process_pool (2)", cores=2)
    dagster = dagster_table(dagster_runs, "in_process")
    table(
        f"{CAMPAIGN_SESSIONS}-session x {TEST_DAYS}-day campaign on the shipped data",
        campaign,
        "sequential",
    )
    curves = {json.dumps(r["last_curve_row"], sort_keys=True) for r in campaign.values()}
    print(f"identical campaign learning curves: {len(curves) == 1}")
    out = ROOT / "bench" / "results" / "bench_parallel.json"
    out.write_text(
        json.dumps({"session": session, "dagster": dagster, "campaign": campaign}, indent=2)
    )
    print(f"written {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
