"""Small process and file helpers shared by the PostgreSQL and Kafka managers, the rebuild
processes and the benchmark."""

from __future__ import annotations

import os
import resource
import signal
import socket
import time
from pathlib import Path


class InfraError(RuntimeError):
    """A local server could not be started, reached or stopped; the message says why in one line
    (plus, where useful, the tail of the server's log)."""


def tail(path: Path, lines: int = 25) -> str:
    """The last `lines` lines of a log file (Java stack frames left out), or a note that it does
    not exist."""
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return f"(no log at {path})"
    kept = [line for line in text.splitlines() if not line.startswith(("\tat ", "\t... "))]
    return "\n".join(kept[-lines:])


def port_open(host: str, port: int, timeout: float = 1.0) -> bool:
    """Whether something accepts TCP connections on host:port."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def read_pid(pid_file: Path) -> int | None:
    try:
        return int(pid_file.read_text().strip())
    except (OSError, ValueError):
        return None


def process_alive(pid: int, marker: str) -> bool:
    """Whether `pid` runs and its command line contains `marker` (a pid file left by a previous
    boot may name an unrelated process that reused the number)."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()  # empty for a zombie
    except OSError:
        return False
    return marker in raw.replace(b"\0", b" ").decode(errors="replace")


def terminate(pid: int, marker: str, grace_seconds: float = 30.0) -> None:
    """SIGTERM the process, wait up to `grace_seconds`, then SIGKILL it."""
    if not process_alive(pid, marker):
        return
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace_seconds
    while time.monotonic() < deadline:
        if not process_alive(pid, marker):
            return
        time.sleep(0.2)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        return
    for _ in range(50):
        if not process_alive(pid, marker):
            return
        time.sleep(0.2)


def make_traversable(path: Path) -> None:
    """chmod o+x (and g+x) on every ancestor of `path`, so that an unprivileged server user can
    reach its data directory under root's tree."""
    for ancestor in path.resolve().parents:
        mode = ancestor.stat().st_mode
        wanted = mode | 0o011
        if wanted != mode:
            ancestor.chmod(wanted)


def peak_rss_kb() -> int:
    """This process's own peak resident memory: VmHWM on Linux (ru_maxrss would count a parent's,
    kept across fork and exec), ru_maxrss elsewhere."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
