"""`archipel run`'s supervisor: a child that stops cleanly while the system stops is not restarted
(it used to be, one after the other with growing pauses, and stopping took a minute); a child that
dies on its own is."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from archipel_cli.run import Child, _supervise


def exited(tmp_path: Path, name: str, code: int) -> Child:
    child = Child(name, [sys.executable, "-c", f"raise SystemExit({code})"], tmp_path / f"{name}.log")
    child.start()
    assert child.process is not None
    child.process.wait(30)
    return child


def test_a_child_that_exits_0_while_the_system_stops_is_not_restarted(tmp_path: Path) -> None:
    child = exited(tmp_path, "clean", 0)
    first = child.process
    asked: list[float] = []

    def stopping() -> bool:  # the stop request arrives just after the child saw Ctrl-C and exited
        asked.append(time.monotonic())
        return len(asked) > 2

    _supervise([child], stopping)

    assert child.restarts == 0 and child.process is first


def test_a_child_that_dies_is_restarted_until_the_stop(tmp_path: Path) -> None:
    child = exited(tmp_path, "crashed", 3)
    first = child.process
    calls = 0

    def stopping() -> bool:
        nonlocal calls
        calls += 1
        return child.restarts > 0 and child.process is not first

    _supervise([child], stopping)

    assert child.restarts == 1 and child.process is not first
    assert child.process is not None
    child.process.wait(30)
