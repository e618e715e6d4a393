"""Run a command against a throwaway PostgreSQL server.

    python scripts/with_postgres.py [--or-sqlite] [--pgbouncer] [--replica] -- COMMAND [ARG ...]

Starts a private server (its own temporary data folder, a free port on 127.0.0.1,
durability off for speed), creates the database `glossary`, runs COMMAND with
DATABASE_URL pointing at it, then stops the server and deletes the folder, also when
COMMAND fails or the run is interrupted. Exits with COMMAND's status.

With --pgbouncer, COMMAND reaches the server through PgBouncer in transaction mode
(DATABASE_POOLER=transaction; the statement timeout is the role's, as the README says).
With --replica, a streaming replica of the server (pg_basebackup) runs beside it, named
in DATABASE_REPLICA_URLS.

With --or-sqlite, a machine without PostgreSQL's server binaries runs COMMAND on the
default SQLite database instead, after saying so. Other tools (the benchmarks) use
`throwaway_postgres()` directly.
"""

import argparse
import contextlib
import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

DATABASE_NAME = "glossary"


def find_bindir() -> Path | None:
    """The folder of PostgreSQL's server binaries, newest version first, or None."""
    on_path = shutil.which("initdb")
    if on_path:
        return Path(os.path.realpath(on_path)).parent
    candidates = glob.glob("/usr/lib/postgresql/*/bin/initdb")
    candidates.sort(key=lambda path: int(Path(path).parent.parent.name), reverse=True)
    return Path(candidates[0]).parent if candidates else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Server:
    bindir: Path
    workdir: Path
    port: int
    run_as: dict

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{DATABASE_NAME}"

    def run(self, *args: str) -> None:
        subprocess.run(
            [str(self.bindir / args[0]), *args[1:]],
            check=True,
            stdout=subprocess.DEVNULL,
            **self.run_as,
        )


@contextlib.contextmanager
def throwaway_postgres(bindir: Path) -> Iterator[str]:
    """Yield the DATABASE_URL of a fresh server; stop and remove it on exit."""
    with throwaway_server(bindir) as server:
        yield server.url


@contextlib.contextmanager
def throwaway_server(bindir: Path) -> Iterator[Server]:
    """Yield a fresh server; stop and remove it on exit."""
    # PostgreSQL refuses to run as root: run it as the `postgres` system user then.
    run_as = {}
    if os.geteuid() == 0:
        account = pwd.getpwnam("postgres")
        run_as = {"user": account.pw_uid, "group": account.pw_gid, "extra_groups": []}
    workdir = Path(tempfile.mkdtemp(prefix="glossary-pg-"))
    if run_as:
        os.chown(workdir, run_as["user"], run_as["group"])
    data, log = workdir / "data", workdir / "server.log"
    port = _free_port()

    def pg(*args: str) -> None:
        subprocess.run(
            [str(bindir / args[0]), *args[1:]], check=True, stdout=subprocess.DEVNULL, **run_as
        )

    started = False
    try:
        pg("initdb", "-D", str(data), "-U", "postgres", "-A", "trust", "-E", "UTF8",
           "--locale=C.UTF-8", "--no-sync")  # fmt: skip
        options = (
            f"-p {port} -k {workdir} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=100"
        )
        pg("pg_ctl", "-D", str(data), "-l", str(log), "-o", options, "-w", "start")
        started = True
        pg("createdb", "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", DATABASE_NAME)
        yield Server(bindir, workdir, port, run_as)
    except subprocess.CalledProcessError:
        if log.exists():
            sys.stderr.write(log.read_text(errors="replace"))
        raise
    finally:
        # A second termination request must not cut the clean-up short.
        previous = signal.signal(signal.SIGTERM, signal.SIG_IGN)
        try:
            if started:
                pg("pg_ctl", "-D", str(data), "-m", "immediate", "stop")
            shutil.rmtree(workdir, ignore_errors=True)
        finally:
            signal.signal(signal.SIGTERM, previous)


@contextlib.contextmanager
def replica_of(server: Server) -> Iterator[str]:
    """Yield the URL of a streaming replica of `server` (pg_basebackup), stopped on exit."""
    data, log, port = server.workdir / "replica", server.workdir / "replica.log", _free_port()
    server.run("pg_basebackup", "-h", "127.0.0.1", "-p", str(server.port), "-U", "postgres",
               "-D", str(data), "-R", "-X", "stream", "-c", "fast", "--no-sync")  # fmt: skip
    options = (
        f"-p {port} -k {server.workdir} -c listen_addresses=127.0.0.1 -c fsync=off "
        "-c hot_standby=on -c max_connections=100"
    )
    try:
        server.run("pg_ctl", "-D", str(data), "-l", str(log), "-o", options, "-w", "start")
    except subprocess.CalledProcessError:
        if log.exists():
            sys.stderr.write(log.read_text(errors="replace"))
        raise
    try:
        yield f"postgres://postgres@127.0.0.1:{port}/{DATABASE_NAME}"
    finally:
        server.run("pg_ctl", "-D", str(data), "-m", "immediate", "stop")


@contextlib.contextmanager
def pgbouncer(server: Server) -> Iterator[str]:
    """Yield the URL of PgBouncer (transaction pooling) in front of `server`."""
    executable = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"
    if not Path(executable).exists():
        sys.exit("PgBouncer was not found (Debian: apt-get install pgbouncer).")
    port, folder = _free_port(), server.workdir
    (folder / "userlist.txt").write_text('"postgres" ""\n')
    (folder / "pgbouncer.ini").write_text(
        f"""[databases]
* = host=127.0.0.1 port={server.port}
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {port}
unix_socket_dir =
auth_type = trust
auth_file = {folder / "userlist.txt"}
pool_mode = transaction
default_pool_size = 40
max_client_conn = 400
ignore_startup_parameters = extra_float_digits
logfile = {folder / "pgbouncer.log"}
"""
    )
    # Behind the pooler the statement timeout cannot travel with the connection.
    subprocess.run(
        [str(server.bindir / "psql"), "-h", "127.0.0.1", "-p", str(server.port), "-U", "postgres",
         "-d", DATABASE_NAME, "-q", "-c", "ALTER ROLE postgres SET statement_timeout = '15s'"],
        check=True, stdout=subprocess.DEVNULL,
    )  # fmt: skip
    process = subprocess.Popen(
        [executable, str(folder / "pgbouncer.ini")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        **server.run_as,
    )
    try:
        for _ in range(100):
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.1):
                break
            time.sleep(0.05)
        else:
            sys.exit("PgBouncer did not start: " + (folder / "pgbouncer.log").read_text())
        yield f"postgres://postgres@127.0.0.1:{port}/{DATABASE_NAME}"
    finally:
        process.terminate()
        process.wait(timeout=10)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--or-sqlite", action="store_true")
    parser.add_argument("--pgbouncer", action="store_true")
    parser.add_argument("--replica", action="store_true")
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("no command given")

    # Turn a termination request into an exception so that the server is stopped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))

    bindir = find_bindir()
    if bindir is None:
        if not args.or_sqlite:
            sys.exit("PostgreSQL's server binaries (initdb, pg_ctl) were not found.")
        print("PostgreSQL's server binaries were not found: running on SQLite.", flush=True)
        return subprocess.call(command)
    with contextlib.ExitStack() as stack:
        server = stack.enter_context(throwaway_server(bindir))
        env = {**os.environ, "DATABASE_URL": server.url}
        described = [f"a throwaway PostgreSQL server ({bindir})"]
        if args.replica:
            env["DATABASE_REPLICA_URLS"] = stack.enter_context(replica_of(server))
            described.append("a streaming replica")
        if args.pgbouncer:
            env["DATABASE_URL"] = stack.enter_context(pgbouncer(server))
            env["DATABASE_POOLER"] = "transaction"
            described.append("PgBouncer in transaction mode")
        print(f"Running on {', '.join(described)}.", flush=True)
        return subprocess.call(command, env=env)


if __name__ == "__main__":
    sys.exit(main())
