"""Benchmark: the HTTP API under a bounded load on 127.0.0.1 (a real ``rl-pipeline api`` process
over a store built here: synthetic bars and two completed sessions).

Clients run side by side for a fixed time: cheap routes (weights, session status, config
export), analytics routes (trade analysis with varying filters, model performance) and a
weight set every second, which changes the store so that the analytics are computed again
(not only served from their cache). Prints requests/s and p50/p99 latency per route, and writes
them to bench/results/bench_api.json. The cheap routes' p99 should stay under 50 ms.

    .venv/bin/python bench/bench_api.py [--seconds 20] [--cheap-clients 4] [--analytics-clients 4]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
CHEAP = [
    ("GET", "/api/models/weights"),
    ("GET", "/api/reinforcement/status"),
    ("GET", "/api/config/export"),
]
ANALYTICS = [
    ("GET", "/api/analytics/trades"),
    ("GET", "/api/analytics/trades?model_id=lava_ai"),
    ("GET", "/api/analytics/trades?symbol=AAA&top_n=10"),
    ("GET", "/api/models/performance"),
]
CHEAP_P99_TARGET_MS = 50.0


def build_store(data: Path) -> None:
    from rl_pipeline.config import SessionConfig
    from rl_pipeline.market.synthetic import generate_default_bars
    from rl_pipeline.session.stages import run_session
    from rl_pipeline.store.bars import write_bars
    from rl_pipeline.store.connection import open_store

    os.environ["RL_PIPELINE_DATA_DIR"] = str(data)
    os.environ["RL_PIPELINE_DB"] = str(data / "rl_pipeline.sqlite")
    conn = open_store(data / "rl_pipeline.sqlite")
    write_bars(conn, generate_default_bars(symbols=("AAA", "BBB"), days=60, seed=7), "bench")
    for days in (20, 10):
        run_session(conn, SessionConfig(test_period_days=days), publish=True)
    conn.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(data: Path, port: int) -> subprocess.Popen:
    env = {
        **os.environ,
        "RL_PIPELINE_DATA_DIR": str(data),
        "RL_PIPELINE_DB": str(data / "rl_pipeline.sqlite"),
        "DAGSTER_HOME": str(data / "dagster"),
    }
    env.pop("RL_PIPELINE_API_TOKEN", None)
    process = subprocess.Popen(
        [str(BIN / "rl-pipeline"), "api", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if request(port, "GET", "/api/models/weights")[0] == 200:
                return process
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError("the API did not start in 60 s")


def request(port: int, method: str, path: str, body: bytes | None = None) -> tuple[int, float]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    started = time.perf_counter()
    headers = {"Content-Type": "application/json"} if body else {}
    connection.request(method, path, body=body, headers=headers)
    response = connection.getresponse()
    response.read()
    connection.close()
    return response.status, (time.perf_counter() - started) * 1000


def client(port: int, routes: list, stop: threading.Event, out: dict, lock: threading.Lock):
    i = 0
    while not stop.is_set():
        method, path = routes[i % len(routes)]
        i += 1
        status, ms = request(port, method, path)
        with lock:
            out[path].append((status, ms))


def writer(port: int, stop: threading.Event, out: dict, lock: threading.Lock) -> None:
    n = 0
    while not stop.wait(1.0):
        a = 0.30 + 0.001 * (n % 50)
        body = {
            "trading_ai_weight": a,
            "lava_ai_weight": 0.3,
            "lgbm_ai_weight": 0.4 - a + 0.3,
            "mistral_ai_weight": 0.0,
        }
        status, ms = request(port, "PUT", "/api/models/weights", json.dumps(body).encode())
        with lock:
            out["PUT /api/models/weights"].append((status, ms))
        n += 1


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--cheap-clients", type=int, default=4)
    parser.add_argument("--analytics-clients", type=int, default=4)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        data.mkdir()
        build_store(data)
        port = free_port()
        server = start_server(data, port)
        out: dict[str, list[tuple[int, float]]] = defaultdict(list)
        lock, stop = threading.Lock(), threading.Event()
        threads = [
            threading.Thread(target=client, args=(port, CHEAP, stop, out, lock))
            for _ in range(args.cheap_clients)
        ] + [
            threading.Thread(target=client, args=(port, ANALYTICS, stop, out, lock))
            for _ in range(args.analytics_clients)
        ]
        threads.append(threading.Thread(target=writer, args=(port, stop, out, lock)))
        started = time.perf_counter()
        for t in threads:
            t.start()
        time.sleep(args.seconds)
        stop.set()
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - started
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)

    cheap_paths = {p for _, p in CHEAP}
    rows, cheap_ms = [], []
    total = sum(len(v) for v in out.values())
    print(
        f"{total} requests in {elapsed:.1f} s = {total / elapsed:.0f} requests/s "
        f"({args.cheap_clients} cheap + {args.analytics_clients} analytics clients + 1 writer, "
        f"2 cores shared with everything else)"
    )
    print(f"{'route':<48} {'n':>6} {'req/s':>7} {'p50 ms':>8} {'p99 ms':>8} {'non-2xx':>7}")
    for path, samples in sorted(out.items()):
        ms = [m for _, m in samples]
        bad = sum(1 for s, _ in samples if not 200 <= s < 300)
        row = {
            "route": path,
            "requests": len(ms),
            "requests_per_s": len(ms) / elapsed,
            "p50_ms": statistics.median(ms),
            "p99_ms": percentile(ms, 0.99),
            "non_2xx": bad,
        }
        rows.append(row)
        if path in cheap_paths:
            cheap_ms += ms
        print(
            f"{path:<48} {row['requests']:>6} {row['requests_per_s']:>7.1f} "
            f"{row['p50_ms']:>8.1f} {row['p99_ms']:>8.1f} {bad:>7}"
        )
    cheap_p99 = percentile(cheap_ms, 0.99)
    verdict = "under" if cheap_p99 < CHEAP_P99_TARGET_MS else "OVER"
    print(f"cheap routes together: p99 {cheap_p99:.1f} ms ({verdict} {CHEAP_P99_TARGET_MS} ms)")
    results = ROOT / "bench" / "results"
    results.mkdir(parents=True, exist_ok=True)
    (results / "bench_api.json").write_text(
        json.dumps(
            {
                "seconds": elapsed,
                "requests_per_s": total / elapsed,
                "cheap_p99_ms": cheap_p99,
                "routes": rows,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
