"""The analytics notebook executes end to end (nbclient, the venv's python3 kernel) against a
store produced by a real session, and shows the same numbers as the analytics functions."""

from __future__ import annotations

import json
import sqlite3
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from rl_pipeline.analytics.performance import model_performance
from rl_pipeline.config import SessionConfig
from rl_pipeline.session import stages as stages
from rl_pipeline.session.campaign import run_campaign
from rl_pipeline_tests.conftest import PROJECT_ROOT
from rl_pipeline_tests.support.analytics_store import dump

NOTEBOOK = PROJECT_ROOT / "notebooks" / "analytics.ipynb"
# metrics, ensemble equity and drawdown, weights, realised equity, campaign, trade figures
IMAGES = 7


@pytest.fixture
def venv_kernel(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A ``python3`` kernelspec running this interpreter (the venv's), found first on
    JUPYTER_PATH whatever kernels the user has installed; Jupyter and IPython state in tmp."""
    spec = tmp_path / "jupyter" / "kernels" / "python3"
    spec.mkdir(parents=True)
    argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    kernel = {"argv": argv, "display_name": "Python 3 (venv)", "language": "python"}
    (spec / "kernel.json").write_text(json.dumps(kernel))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(tmp_path / "jupyter-runtime"))
    monkeypatch.setenv("IPYTHONDIR", str(tmp_path / "ipython"))
    monkeypatch.setenv("MPLCONFIGDIR", str(tmp_path / "matplotlib"))
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    return "python3"


def outputs_of(cell: nbformat.NotebookNode) -> tuple[str, int]:
    """All text of a cell's outputs, and how many PNG images it shows."""
    text, images = [], 0
    for output in cell.get("outputs", []):
        assert output["output_type"] != "error", output
        text.append(output.get("text", ""))
        data = output.get("data", {})
        text.append(data.get("text/plain", ""))
        images += "image/png" in data
    return "".join(text), images


def test_notebook_runs_against_a_real_session(
    small_store: sqlite3.Connection, db_path: Path, venv_kernel: str
) -> None:
    campaign = run_campaign(small_store, SessionConfig(), sessions=2, test_period_days=4)
    summary = stages.run_session(small_store, SessionConfig(test_period_days=10), publish=True)
    before = dump(db_path)
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    # Committed with the outputs of the default session (make notebook), so it reads on GitHub.
    committed = [outputs_of(c) for c in notebook.cells if c.cell_type == "code"]
    assert sum(n for _, n in committed) == IMAGES
    assert "ensemble, adaptive weights" in "".join(t for t, _ in committed)
    client = NotebookClient(
        notebook,
        kernel_name=venv_kernel,
        timeout=120,
        resources={"metadata": {"path": str(PROJECT_ROOT)}},
    )
    client.execute()  # raises CellExecutionError on any failing cell

    code = [c for c in notebook.cells if c.cell_type == "code"]
    shown = [outputs_of(c) for c in code]
    text = "".join(t for t, _ in shown)
    assert f"store: {db_path}" in text
    assert f"session {summary.session_id}" in text
    assert sum(n for _, n in shown) == IMAGES
    report_text = "".join(t for t, _ in shown[3:5])  # the ensemble cell prints the report
    for line in ("ensemble, adaptive weights", "ensemble, static initial weights", "learning paid"):
        assert line in report_text
    assert f"campaign {campaign['campaign_id']}: 2 sessions" in text
    trades = sum(m.total_trades for m in summary.metrics.values())
    assert f"{trades} distinct trades from sessions" in text
    for row in model_performance(db_path):
        assert row["model_id"] in text
    assert dump(db_path) == before, "the notebook only reads the store"
