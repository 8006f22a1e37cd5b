"""The repository stands alone: no tracked file reads or links anything outside it, CI runs the
suite in a clone with nothing beside it, and the one-time llama-server build stays quiet."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

from rl_pipeline_tests.conftest import PROJECT_ROOT

# A markdown link target: [text](target), without a scheme (http:, mailto:) or an in-page anchor.
MARKDOWN_LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")
# A path that climbs out of the checkout to a folder beside it (up one level into the shared
# design folder), the design notes by name, or the project root's parent in Python. Hostile
# test inputs such as "../x.gguf" that the code must refuse are fine: they name no real place.
CLIMBING_PATH = re.compile(
    r"\.\./shared\b|\bshared/(?:DESIGN|SPEC)\.md|(?:PROJECT_)?ROOT\.parent\b|\.parent\.parent\.parent"
)


def tracked_files() -> list[Path]:
    listed = subprocess.run(
        ["git", "ls-files", "-z"], cwd=PROJECT_ROOT, capture_output=True, check=True
    ).stdout.decode()
    return [PROJECT_ROOT / name for name in listed.split("\0") if name]


def text_of(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except (UnicodeDecodeError, IsADirectoryError, FileNotFoundError):
        return None


def test_no_tracked_file_names_a_path_outside_the_repository() -> None:
    offenders = []
    for path in tracked_files():
        text = text_of(path)
        if text is None:
            continue
        for number, line in enumerate(text.splitlines(), start=1):
            if CLIMBING_PATH.search(line):
                offenders.append(f"{path.relative_to(PROJECT_ROOT)}:{number}: {line.strip()}")
    assert offenders == []


def test_every_relative_markdown_link_resolves_inside_the_repository() -> None:
    root = PROJECT_ROOT.resolve()
    broken = []
    for path in tracked_files():
        if path.suffix != ".md":
            continue
        for target in MARKDOWN_LINK.findall(path.read_text(encoding="utf-8")):
            if re.match(r"^[a-z]+:", target):
                continue
            resolved = (path.parent / target).resolve()
            if not resolved.is_relative_to(root) or not resolved.exists():
                broken.append(f"{path.relative_to(PROJECT_ROOT)} -> {target}")
    assert broken == []


def test_ci_runs_make_test_in_a_fresh_clone_with_nothing_beside_it() -> None:
    script = (PROJECT_ROOT / ".ci" / "run").read_text(encoding="utf-8")
    commands = [line.strip() for line in script.splitlines() if not line.startswith("#")]
    clone = next(i for i, c in enumerate(commands) if c.startswith("git clone"))
    enter = next(i for i, c in enumerate(commands) if c.startswith("cd ") and '"$work/' in c)
    run = commands.index("make test")
    assert '"$work/main"' in commands[clone] and "mktemp -d" in script
    assert clone < enter < run


def test_a_failing_llama_server_build_prints_its_stage_the_log_and_a_short_tail(
    tmp_path: Path,
) -> None:
    """A real failure: pip cannot download a llama-cpp-python version that does not exist."""
    env = {
        **os.environ,
        "RL_PIPELINE_CACHE": str(tmp_path / "cache"),
        "RL_PIPELINE_LLAMA_CPP_PYTHON_VERSION": "0.0.0.404",
        "RL_PIPELINE_LLAMA_SERVER": "",
        "PYTHON": str(PROJECT_ROOT / ".venv" / "bin" / "python"),
    }
    done = subprocess.run(
        ["bash", str(PROJECT_ROOT / "scripts" / "build_llama_server.sh")],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    log = tmp_path / "cache" / "llama-server-0.0.0.404" / "build.log"
    assert done.returncode != 0
    assert done.stdout == ""
    lines = done.stderr.splitlines()
    assert len(lines) < 40
    assert "llama-server build: download source" in lines
    assert f"failed at: download source (full log: {log})" in done.stderr
    assert log.exists() and "0.0.0.404" in log.read_text(encoding="utf-8")
