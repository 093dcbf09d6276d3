"""A throwaway PostgreSQL server for the test session: initdb + pg_ctl on 127.0.0.1.

PostgreSQL refuses to run as root, so as root the server runs as the
``postgres`` system user (or ``nobody``) in a folder handed to that user.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path


class PostgresUnavailable(Exception):
    """Why no server could be started (the tests skip with this reason)."""


def find_bin_dir() -> Path:
    candidates = []
    if os.environ.get("MOODLENS_PG_BIN"):
        candidates.append(os.environ["MOODLENS_PG_BIN"])
    which = shutil.which("initdb")
    if which:
        candidates.append(str(Path(os.path.realpath(which)).parent))
    candidates += sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)
    candidates += sorted(glob.glob("/usr/local/pgsql/bin"))
    for c in candidates:
        if (Path(c) / "initdb").is_file() and (Path(c) / "pg_ctl").is_file():
            return Path(c)
    raise PostgresUnavailable(
        "PostgreSQL server binaries (initdb, pg_ctl) not found; install them with "
        "`apt-get install -y postgresql` (Debian/Ubuntu) or set MOODLENS_PG_BIN"
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _demote() -> tuple[Callable[[], None] | None, int | None, int | None]:
    if os.geteuid() != 0:
        return None, None, None
    for name in ("postgres", "nobody"):
        try:
            pw = pwd.getpwnam(name)
        except KeyError:
            continue
        uid, gid = pw.pw_uid, pw.pw_gid

        def preexec(uid: int = uid, gid: int = gid) -> None:
            os.setgroups([])
            os.setgid(gid)
            os.setuid(uid)

        return preexec, uid, gid
    raise PostgresUnavailable("running as root and no 'postgres' or 'nobody' user to run as")


@dataclass
class PostgresServer:
    bin_dir: Path
    root: Path
    port: int
    user: str = "journal"
    _preexec: Callable[[], None] | None = None

    @property
    def data(self) -> Path:
        return self.root / "data"

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://{self.user}@127.0.0.1:{self.port}/{database}"

    def _run(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "LC_ALL": "C",
            "HOME": str(self.root),
        }
        return subprocess.run(
            [str(self.bin_dir / args[0]), *args[1:]],
            preexec_fn=self._preexec,  # noqa: PLW1509 - single-threaded at this point
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=self.root,
        )

    @classmethod
    def start(cls) -> PostgresServer:
        bin_dir = find_bin_dir()
        preexec, uid, gid = _demote()
        root = Path(tempfile.mkdtemp(prefix="moodlens-pg-"))
        os.chmod(root, 0o755)
        if uid is not None and gid is not None:
            os.chown(root, uid, gid)
        server = cls(bin_dir, root, _free_port(), _preexec=preexec)
        init = server._run(
            "initdb",
            "-D",
            str(server.data),
            "-U",
            server.user,
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--no-sync",
        )
        if init.returncode != 0:
            shutil.rmtree(root, ignore_errors=True)
            raise PostgresUnavailable(f"initdb failed: {init.stderr.strip()[-500:]}")
        opts = f"-p {server.port} -h 127.0.0.1 -k {root} -F -c max_connections=60"
        for _attempt in range(3):
            started = server._run(
                "pg_ctl",
                "-D",
                str(server.data),
                "-l",
                str(root / "log"),
                "-w",
                "-t",
                "60",
                "-o",
                opts,
                "start",
            )
            if started.returncode == 0:
                return server
            server.port = _free_port()  # someone took the port meanwhile
            opts = f"-p {server.port} -h 127.0.0.1 -k {root} -F -c max_connections=60"
            time.sleep(0.2)
        log = (root / "log").read_text(errors="replace")[-800:] if (root / "log").exists() else ""
        shutil.rmtree(root, ignore_errors=True)
        raise PostgresUnavailable(f"pg_ctl start failed: {started.stderr.strip()} {log}")

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.root, ignore_errors=True)

    def create_database(self, name: str) -> str:
        import psycopg

        with psycopg.connect(
            host="127.0.0.1", port=self.port, user=self.user, dbname="postgres", autocommit=True
        ) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def drop_database(self, name: str) -> None:
        import psycopg

        with psycopg.connect(
            host="127.0.0.1", port=self.port, user=self.user, dbname="postgres", autocommit=True
        ) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
