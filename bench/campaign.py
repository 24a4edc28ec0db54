"""A synthetic campaign: N académies, M candidates (bench.profiles) and about 30 events per candidate
across the four services (bench.events), grouped into the commands that write them."""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from bench.events import commands_of
from bench.profiles import ACADEMIES, Command, Profile, regulations
from bench.profiles import profile as make_profile


@dataclass
class Candidate:
    profile: Profile
    commands: list[Command]


def generate(candidates: int, academies: int, seed: int) -> list[Candidate]:
    rng = random.Random(seed)
    regs = regulations()
    names = ACADEMIES[: max(1, min(academies, len(ACADEMIES)))]
    out = []
    for _ in range(candidates):
        who = make_profile(rng, names, regs)
        out.append(Candidate(who, commands_of(rng, who, regs[who.specialty])))
    return out


def interleaved(campaign: Sequence[Candidate]) -> Iterator[Command]:
    """Commands round-robin across candidates (step 1 of everyone, then step 2...), as a campaign's
    load arrives: a stream's commands stay in order, far apart."""
    longest = max((len(c.commands) for c in campaign), default=0)
    for step in range(longest):
        for candidate in campaign:
            if step < len(candidate.commands):
                yield candidate.commands[step]


def event_count(campaign: Sequence[Candidate]) -> int:
    return sum(len(command.events) for candidate in campaign for command in candidate.commands)
