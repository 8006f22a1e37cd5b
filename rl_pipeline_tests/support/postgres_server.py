"""A real PostgreSQL server owned by one test: its own cluster, on 127.0.0.1 only, stopped after.

The binaries are PostgreSQL's own (``initdb``, ``pg_ctl``, ``createdb``), found on PATH or in
Debian's ``/usr/lib/postgresql/<version>/bin`` (``make test`` installs Debian's ``postgresql``
package when neither has them).

PostgreSQL refuses to run as root. Under root the cluster therefore belongs to the ``postgres``
system account that Debian's package creates, and the server binaries run as that account
through ``setpriv`` (util-linux, in every Debian system; unlike ``su``/``runuser`` it needs no
PAM session); the cluster lives in a fresh private folder under the system temp directory, since
pytest's own temp folders are readable by root only. Any other user runs the binaries directly,
with the cluster in the given folder.
"""

from __future__ import annotations

import os
import pwd
import re
import secrets
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

DEBIAN_ROOT = Path("/usr/lib/postgresql")
SERVER_ACCOUNT = "postgres"
SUPERUSER = "rl_pipeline"


@dataclass(frozen=True)
class PostgresServer:
    host: str
    port: int
    username: str
    password: str
    db_name: str
    pid: int


def binaries_folder() -> Path:
    """The folder holding initdb, pg_ctl and createdb: PATH first, then Debian's newest."""
    on_path = shutil.which("initdb")
    if on_path:
        return Path(on_path).resolve().parent
    versions = sorted(
        (int(p.parent.parent.name), p.parent)
        for p in DEBIAN_ROOT.glob("*/bin/initdb")
        if p.parent.parent.name.isdigit()
    )
    if not versions:
        raise RuntimeError(
            "PostgreSQL's initdb is neither on PATH nor in /usr/lib/postgresql/<version>/bin: "
            "run `make postgresql` (installs Debian's postgresql package)"
        )
    return versions[-1][1]


def server_account() -> pwd.struct_passwd | None:
    """The account the server runs as: None for the current user, ``postgres`` under root."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam(SERVER_ACCOUNT)
    except KeyError:
        raise RuntimeError(
            f"running as root, the test server needs the {SERVER_ACCOUNT!r} system account "
            "(PostgreSQL refuses root); Debian's postgresql package creates it"
        ) from None


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def run(command: list[str], env: dict[str, str] | None = None) -> None:
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=120, check=False, env=env
    )
    if done.returncode != 0:
        raise RuntimeError(
            f"{' '.join(command)} failed ({done.returncode}): {done.stdout}{done.stderr}"
        )


@contextmanager
def postgres_server(folder: Path, db_name: str = "dagster") -> Iterator[PostgresServer]:
    """initdb a cluster, start it on 127.0.0.1 and a free port (password authentication, no
    unix socket), create ``db_name``; on exit ``pg_ctl stop -m fast`` and check the server
    process is gone."""
    bin_dir = binaries_folder()
    account = server_account()
    as_server: list[str] = []
    if account is not None:
        folder = Path(tempfile.mkdtemp(prefix="rl_pipeline_pg_"))
        os.chown(folder, account.pw_uid, account.pw_gid)
        as_server = [
            "setpriv",
            f"--reuid={account.pw_uid}",
            f"--regid={account.pw_gid}",
            "--init-groups",
            "--",
        ]
    else:
        folder.mkdir(parents=True, exist_ok=True)
    data, log = folder / "data", folder / "server.log"
    password = secrets.token_hex(16)
    password_file = folder / "password"
    password_file.write_text(password + "\n")
    if account is not None:
        os.chown(password_file, account.pw_uid, account.pw_gid)
    pg_ctl = [*as_server, str(bin_dir / "pg_ctl"), "-D", str(data)]
    try:
        try:
            run(
                [
                    *as_server,
                    str(bin_dir / "initdb"),
                    "-D",
                    str(data),
                    "-U",
                    SUPERUSER,
                    f"--pwfile={password_file}",
                    "--auth=scram-sha-256",
                    "--encoding=UTF8",
                    "--locale=C",
                ]
            )
            port = free_port()
            with (data / "postgresql.conf").open("a") as conf:
                conf.write(
                    "\n# the test's own server: 127.0.0.1 only, no unix socket\n"
                    f"listen_addresses = '127.0.0.1'\nport = {port}\n"
                    "unix_socket_directories = ''\nfsync = off\n"
                )
            run([*pg_ctl, "-l", str(log), "-w", "start"])
            pid = int((data / "postmaster.pid").read_text().splitlines()[0])
            createdb = [str(bin_dir / "createdb"), "-h", "127.0.0.1", "-p", str(port)]
            run(
                [*createdb, "-U", SUPERUSER, db_name],
                env={**os.environ, "PGPASSWORD": password},
            )
        except RuntimeError as error:
            detail = log.read_text() if log.exists() else "(none)"
            raise RuntimeError(f"{error}\nserver log:\n{detail}") from None
        yield PostgresServer("127.0.0.1", port, SUPERUSER, password, db_name, pid)
    finally:
        if (data / "postmaster.pid").exists():  # started: stop it whatever happened
            run([*pg_ctl, "-m", "fast", "-w", "stop"])
        if account is not None:
            shutil.rmtree(folder, ignore_errors=True)
    if process_alive(pid):
        raise RuntimeError(f"the PostgreSQL server (pid {pid}) is still running after stop")


def process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    status = Path(f"/proc/{pid}/status")
    # A zombie has exited (its parent has not reaped it yet): not a running server.
    return not (status.exists() and re.search(r"^State:\s+Z", status.read_text(), re.M))
