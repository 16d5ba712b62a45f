"""A PgBouncer in transaction mode in front of the test PostgreSQL (CUNBOT_TEST_PGBOUNCER=1).

Debian's ``pgbouncer`` binary, started for the test session on 127.0.0.1 at a free port with
its configuration in a temporary folder: ``pool_mode = transaction``, trust authentication
(the user named in the auth file), every database name passed through to the server. The
test databases themselves are created and dropped on the server directly; the application
under test connects through the pooler.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

PGBOUNCER = "/usr/sbin/pgbouncer"
ENV = "CUNBOT_TEST_PGBOUNCER"


def wanted() -> bool:
    return os.environ.get(ENV, "") == "1"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _config(folder: Path, port: int, server_host: str, server_port: int, user: str) -> Path:
    (folder / "users.txt").write_text(f'"{user}" ""\n')
    ini = folder / "pgbouncer.ini"
    ini.write_text(
        "[databases]\n"
        f"* = host={server_host} port={server_port}\n"
        "[pgbouncer]\n"
        "listen_addr = 127.0.0.1\n"
        f"listen_port = {port}\n"
        "unix_socket_dir =\n"
        "auth_type = trust\n"
        f"auth_file = {folder / 'users.txt'}\n"
        "pool_mode = transaction\n"
        "default_pool_size = 10\n"
        "max_client_conn = 500\n"
        f"logfile = {folder / 'pgbouncer.log'}\n"
    )
    return ini


def _wait_listening(port: int, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            break
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    text = log.read_text() if log.exists() else ""
    raise RuntimeError(f"PgBouncer did not start on 127.0.0.1:{port}:\n{text[-2000:]}")


@contextmanager
def running(server_host: str, server_port: int, user: str) -> Iterator[int]:
    """Run PgBouncer until the block ends; yields the port it listens on."""
    if not os.access(PGBOUNCER, os.X_OK):
        raise RuntimeError(
            f"{ENV}=1 needs Debian's pgbouncer ({PGBOUNCER}): apt-get install pgbouncer"
        )
    folder = Path(tempfile.mkdtemp(prefix="cunbot-pgbouncer-"))
    command = [PGBOUNCER]
    if os.geteuid() == 0:
        # PgBouncer refuses to run as root: it drops to the postgres user, which must be able
        # to read its configuration and write its log.
        shutil.chown(folder, user=pwd.getpwnam("postgres").pw_uid)
        command += ["-u", "postgres"]
    port = _free_port()
    ini = _config(folder, port, server_host, server_port, user)
    if os.geteuid() == 0:
        for path in folder.iterdir():
            shutil.chown(path, user="postgres")
    proc = subprocess.Popen(
        [*command, str(ini)], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT
    )
    try:
        _wait_listening(port, proc, folder / "pgbouncer.log")
        yield port
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        shutil.rmtree(folder, ignore_errors=True)
