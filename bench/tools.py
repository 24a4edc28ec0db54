"""Small tools of the measurements: a mailer that keeps activation codes, and pyinstrument profiling
of a phase (with --profile) written next to the results."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from email.message import EmailMessage

from pyinstrument import Profiler

from bench.common import Config, Recorder

_CODE = re.compile(r"Code d'activation : (\S+)")


class BenchMailer:
    """Keeps the last activation code sent to each address, as a candidate reading their mail would."""

    def __init__(self) -> None:
        self.tokens: dict[str, str] = {}

    async def send(self, message: EmailMessage) -> None:
        found = _CODE.search(message.get_content())
        if found:
            self.tokens[str(message["To"])] = found.group(1)


@asynccontextmanager
async def profiled(config: Config, rec: Recorder, name: str) -> AsyncIterator[None]:
    """With --profile, samples the main thread (every task of the event loop) during the body and
    writes the call tree to bench/results/<run>-profile-<name>.txt."""
    if not config.profile:
        yield
        return
    profiler = Profiler(interval=0.001, async_mode="disabled")
    profiler.start()
    try:
        yield
    finally:
        profiler.stop()
        path = rec.results_dir / f"{rec.run_id}-profile-{name}.txt"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(profiler.output_text(unicode=True, show_all=False))
        rec.profiles[name] = str(path)
        rec.say(f"  profile of {name}: {path}")
