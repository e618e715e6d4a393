"""Run a command against a throwaway PostgreSQL server.

    python scripts/with_postgres.py [--or-sqlite] -- COMMAND [ARG ...]

Starts a private server (its own temporary data folder, a free port on 127.0.0.1,
durability off for speed), creates the database `glossary`, runs COMMAND with
DATABASE_URL pointing at it, then stops the server and deletes the folder, also when
COMMAND fails or the run is interrupted. Exits with COMMAND's status.

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
from collections.abc import Iterator
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


@contextlib.contextmanager
def throwaway_postgres(bindir: Path) -> Iterator[str]:
    """Yield the DATABASE_URL of a fresh server; stop and remove it on exit."""
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
        yield f"postgres://postgres@127.0.0.1:{port}/{DATABASE_NAME}"
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--or-sqlite", action="store_true")
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
    with throwaway_postgres(bindir) as url:
        print(f"Running on a throwaway PostgreSQL server ({bindir}).", flush=True)
        return subprocess.call(command, env={**os.environ, "DATABASE_URL": url})


if __name__ == "__main__":
    sys.exit(main())
