"""Run notebooks/analytics.ipynb in place against a demo store, so the committed notebook shows
real outputs: the embedded default data, one published session and a three-session campaign.

Usage: .venv/bin/python scripts/notebook_demo.py   (or `make notebook`); the demo store lives
in data/notebook_demo/ and is rebuilt on every run. The store path is shown relative to the
project so the committed outputs name no machine's folders."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "data" / "notebook_demo"


def main() -> None:
    shutil.rmtree(DEMO, ignore_errors=True)
    DEMO.mkdir(parents=True)
    os.chdir(ROOT)
    os.environ["RL_PIPELINE_DATA_DIR"] = str(DEMO.relative_to(ROOT))
    os.environ["RL_PIPELINE_DB"] = str((DEMO / "rl_pipeline.sqlite").relative_to(ROOT))
    os.environ.setdefault("MPLBACKEND", "module://matplotlib_inline.backend_inline")

    import nbformat
    from jupyter_client.manager import KernelManager
    from nbclient import NotebookClient

    from rl_pipeline.config import SessionConfig
    from rl_pipeline.market_data.setup import init_store
    from rl_pipeline.session.campaign import run_campaign
    from rl_pipeline.session.stages import run_session
    from rl_pipeline.store.connection import open_store

    init_store(seed_default_data=True)
    conn = open_store()
    try:
        run_campaign(conn, SessionConfig(), sessions=3, test_period_days=14)
        summary = run_session(conn, SessionConfig(), publish=True)
    finally:
        conn.close()
    print(f"demo store ready: session {summary.session_id}")

    path = ROOT / "notebooks" / "analytics.ipynb"
    notebook = nbformat.read(path, as_version=4)
    # IPC sockets in the demo folder: the kernel talks to this process only (and ipykernel does
    # not warn about unencrypted TCP).
    kernel = KernelManager(kernel_name="python3", transport="ipc", ip=str(DEMO / "kernel"))
    try:
        NotebookClient(
            notebook, timeout=600, km=kernel, resources={"metadata": {"path": str(ROOT)}}
        ).execute()
    finally:
        if kernel.has_kernel:
            kernel.shutdown_kernel(now=False)
    nbformat.write(notebook, path)
    print(f"executed {path.relative_to(ROOT)} in place")


if __name__ == "__main__":
    main()
