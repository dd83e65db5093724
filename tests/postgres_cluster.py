"""A throwaway PostgreSQL 15 cluster for tests: the Debian binaries, a temp dir, loopback only, a generated password.

CI machines have the `postgresql-15` package; a machine without it fails here with that name (never a silent skip,
which would let the DuckLake-on-PostgreSQL tests pass by not running).

initdb and postgres refuse to run as root, so as root every server command runs as the `postgres` system user
(created by the Debian package) and the temp dir is handed to it. The temp dir is made with `tempfile.mkdtemp` under
the system temp folder, not pytest's tmp_path: pytest's base folder is 0700 and the `postgres` user could not enter it.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

PG_BIN = Path(os.environ.get("AUDITLAKE_TEST_PG_BIN", "/usr/lib/postgresql/15/bin"))
PACKAGE = "postgresql-15"
SERVER_USER = "postgres"  # the system account the Debian package creates; used only when the tests run as root
SUPERUSER = "auditlake_test"


class PostgresUnavailable(RuntimeError):
    """The cluster cannot start on this machine; the message names what is missing and how to provide it."""


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class PostgresCluster:
    """One running cluster; `database()` hands each caller its own database with a libpq conninfo for it."""

    root: Path
    port: int = 0
    password: str = field(default_factory=lambda: secrets.token_urlsafe(18))
    _as_user: list[str] = field(default_factory=list)
    _databases: int = 0

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def socket_dir(self) -> Path:
        return self.root / "socket"

    @property
    def log_file(self) -> Path:
        return self.root / "server.log"

    def conninfo(self, dbname: str = "postgres", with_password: bool = True) -> str:
        """A libpq key/value conninfo over TCP on loopback (what `ducklake:postgres:` takes)."""
        parts = [f"dbname={dbname}", "host=127.0.0.1", f"port={self.port}", f"user={SUPERUSER}"]
        if with_password:
            parts.append(f"password={self.password}")
        return " ".join(parts)

    def _run(self, *args: str, timeout: float = 60, env: dict[str, str] | None = None) -> str:
        command = [*self._as_user, *args]
        try:
            done = subprocess.run(
                command, capture_output=True, text=True, timeout=timeout, env={**os.environ, **(env or {})}
            )
        except subprocess.TimeoutExpired:
            raise PostgresUnavailable(f"{Path(args[0]).name} did not finish in {timeout:.0f} s") from None
        if done.returncode != 0:
            raise PostgresUnavailable(
                f"{Path(args[0]).name} failed (exit {done.returncode}): {(done.stderr or done.stdout).strip()[-800:]}"
            )
        return done.stdout

    def start(self) -> None:
        for binary in ("initdb", "pg_ctl", "postgres", "psql"):
            if not (PG_BIN / binary).exists():
                raise PostgresUnavailable(
                    f"PostgreSQL 15 server binaries not found in {PG_BIN} ({binary} missing): install the Debian "
                    f"package {PACKAGE} (apt-get install {PACKAGE}), or set AUDITLAKE_TEST_PG_BIN to its bin folder"
                )
        if os.geteuid() == 0:
            try:
                account = pwd.getpwnam(SERVER_USER)
            except KeyError:
                raise PostgresUnavailable(
                    f"running as root, and initdb refuses root; the '{SERVER_USER}' system user the {PACKAGE} "
                    f"package creates is missing: reinstall {PACKAGE} or run the tests as an ordinary user"
                ) from None
            for parent in self.root.parents:
                if not os.stat(parent).st_mode & 0o001:
                    raise PostgresUnavailable(
                        f"running as root, the server runs as '{SERVER_USER}', which cannot enter {parent} "
                        f"(mode {oct(os.stat(parent).st_mode & 0o777)}): point TMPDIR at a folder others may enter "
                        "(e.g. TMPDIR=/tmp)"
                    )
            os.chown(self.root, account.pw_uid, account.pw_gid)
            # runuser keeps the environment; HOME would otherwise point at root's and psql reads ~/.psqlrc.
            self._as_user = ["runuser", "-u", SERVER_USER, "--", "env", f"HOME={self.root}"]
        self.socket_dir.mkdir()
        password_file = self.root / "pwfile"
        password_file.write_text(self.password + "\n")
        if self._as_user:
            account = pwd.getpwnam(SERVER_USER)
            for path in (self.socket_dir, password_file):
                os.chown(path, account.pw_uid, account.pw_gid)
        password_file.chmod(0o600)
        self._run(
            str(PG_BIN / "initdb"),
            "-D",
            str(self.data_dir),
            "-U",
            SUPERUSER,
            "--auth=scram-sha-256",
            f"--pwfile={password_file}",
            "-E",
            "UTF8",
            "--locale=C",
            "--no-sync",
            timeout=120,
        )
        password_file.unlink()
        # Another xdist worker may take the free port between probe and bind: try a few.
        last_error: PostgresUnavailable | None = None
        for _ in range(5):
            self.port = _free_port()
            options = (
                f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.socket_dir} "
                "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=60 "
                "-c shared_buffers=32MB"
            )
            try:
                self._run(
                    str(PG_BIN / "pg_ctl"),
                    "-D",
                    str(self.data_dir),
                    "-l",
                    str(self.log_file),
                    "-o",
                    options,
                    "-w",
                    "-t",
                    "60",
                    "start",
                    timeout=90,
                )
                return
            except PostgresUnavailable as exc:
                last_error = exc
                with contextlib.suppress(PostgresUnavailable):
                    self.stop()
                if "could not bind" not in self.server_log():
                    break
                time.sleep(0.2)
        raise PostgresUnavailable(f"{last_error}\nserver log:\n{self.server_log()[-1500:]}")

    def server_log(self) -> str:
        try:
            return self.log_file.read_text(errors="replace")
        except OSError:
            return ""

    def psql(self, sql: str, dbname: str = "postgres") -> str:
        return self._run(
            str(PG_BIN / "psql"),
            "-X",
            "-q",
            "-t",
            "-A",
            "-v",
            "ON_ERROR_STOP=1",
            "-d",
            self.conninfo(dbname, with_password=False),
            "-c",
            sql,
            env={"PGPASSWORD": self.password},
        )

    def database(self, prefix: str = "t") -> str:
        """Create a fresh, empty database and return its conninfo (password included)."""
        self._databases += 1
        name = f"{prefix}_{os.getpid()}_{self._databases}"
        self.psql(f'CREATE DATABASE "{name}"')
        return self.conninfo(name)

    def stop(self) -> None:
        if (self.data_dir / "postmaster.pid").exists():
            self._run(str(PG_BIN / "pg_ctl"), "-D", str(self.data_dir), "-m", "fast", "-w", "stop", timeout=60)


@contextlib.contextmanager
def running_cluster() -> Iterator[PostgresCluster]:
    """Start a cluster in a fresh temp dir; stop it and remove the dir on the way out, whatever happened."""
    root = Path(tempfile.mkdtemp(prefix="auditlake-pg-"))
    cluster = PostgresCluster(root=root)
    try:
        cluster.start()
        yield cluster
    finally:
        try:
            cluster.stop()
        finally:
            shutil.rmtree(root, ignore_errors=True)
