"""Measurement 5: the deliberation rate of the pure function (candidates/s): the campaign's own
candidates first, then exactly `deliberations` (180,000 by default) over a pool of synthetic result
sets cycled through (the function keeps no cache: every call computes)."""

from __future__ import annotations

import random
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import replace

from bench.campaign import Candidate
from bench.common import Config, Recorder
from bench.profiles import ACADEMIES, SESSION, Profile, profile, regulations
from bench.tools import profiled
from services.results.deliberation import deliberate
from shared.reference import Regulation

POOL = 5_000
CHUNK = 20_000


def _run(profiles: Sequence[Profile], regs: dict[str, Regulation], count: int, offset: int = 0) -> Counter[str]:
    outcomes: Counter[str] = Counter()
    for index in range(offset, offset + count):
        who = profiles[index % len(profiles)]
        outcomes[deliberate(regs[who.specialty], who.form, SESSION, who.results).outcome.value] += 1
    return outcomes


async def measure(config: Config, campaign: Sequence[Candidate], rec: Recorder) -> None:
    regs = regulations()
    own = [candidate.profile for candidate in campaign]
    started = time.perf_counter()
    outcomes = _run(own, regs, len(own))
    small = len(own) / (time.perf_counter() - started)
    estimate = config.deliberations / small
    rec.put(
        "deliberation",
        campaign_candidates=len(own),
        campaign_candidates_per_s=round(small, 1),
        outcomes=dict(outcomes),
        estimated_seconds_for_target=round(estimate, 1),
        target_candidates=config.deliberations,
    )
    rec.say(
        f"deliberation: {small:,.0f} candidates/s on the campaign; {config.deliberations:,} would take {estimate:.1f} s"
    )
    if estimate > 90:
        rec.say("  (the full count would take over 90 s: skipped, the estimate stands)")
        return
    rng = random.Random(config.seed + 1)
    pool = [profile(rng, ACADEMIES, regs) for _ in range(POOL)]
    done, elapsed, total = 0, 0.0, Counter[str]()
    while done < config.deliberations:
        count = min(CHUNK, config.deliberations - done)
        async with profiled(config if done == 0 else replace(config, profile=False), rec, "deliberation"):
            started = time.perf_counter()
            total += _run(pool, regs, count, done)
            elapsed += time.perf_counter() - started
        done += count
        rec.point("deliberation (candidates per s)", time.perf_counter(), count / (time.perf_counter() - started))
        rec.say(f"  deliberated {done:,}/{config.deliberations:,} ({done / elapsed:,.0f}/s)")
    rec.put(
        "deliberation",
        full_candidates=done,
        full_seconds=round(elapsed, 2),
        full_candidates_per_s=round(done / elapsed, 1),
        full_outcomes=dict(total),
    )
