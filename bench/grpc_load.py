"""Measurement 1: commands through gRPC, to the registration and accounts servers of bench.grpc_setup.
A candidate's five commands (start, exam form, language, optional unit, confirm: the summary PDF
is rendered at confirm) are fired by a grpc.aio client at a fixed offered rate, latency measured from
the scheduled time (no coordinated omission), and then as fast as K concurrent clients go. The accounts
server takes CreateAccount + ActivateAccount at saturation (password hashing with argon2 included)."""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import grpc

from archipel.accounts.v1 import accounts_pb2 as apb
from archipel.registration.v1 import registration_pb2 as pb
from archipel.registration.v1 import registration_pb2_grpc as pb_grpc
from bench.common import Config, Recorder, Sandbox, latency_figures
from bench.grpc_setup import Servers, Who, provision, servers
from bench.profiles import SESSION
from bench.tools import profiled

STEPS = 5


@dataclass
class Tally:
    latencies: list[float] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=dict)
    done: int = 0

    def record(self, seconds: float, error: str | None) -> None:
        self.done += 1
        if error is None:
            self.latencies.append(seconds)
        else:
            self.errors[error] = self.errors.get(error, 0) + 1


def command(stub: pb_grpc.RegistrationStub, who: Who, step: int) -> Awaitable[Any]:
    key = pb.RegistrationKey(candidate_id=who.id, session=SESSION, specialty=who.specialty)
    call: Awaitable[Any]
    if step == 0:
        call = stub.StartRegistration(pb.StartRegistrationRequest(key=key, category=who.category), metadata=who.auth)
    elif step == 1:
        call = stub.ChooseExamForm(pb.ChooseExamFormRequest(key=key, form="globale"), metadata=who.auth)
    elif step == 2:
        request = pb.ChooseLanguageRequest(key=key, language="anglais", teaching_followed=True)
        call = stub.ChooseLanguage(request, metadata=who.auth)
    elif step == 3:
        units = [who.optional] if who.optional else []
        call = stub.ChooseOptionalUnits(pb.ChooseOptionalUnitsRequest(key=key, units=units), metadata=who.auth)
    else:
        call = stub.ConfirmRegistration(pb.ConfirmRegistrationRequest(key=key), metadata=who.auth)
    return call


async def timed(call: Callable[[], Awaitable[Any]], since: float, tally: Tally) -> None:
    try:
        await call()
        error = None
    except grpc.aio.AioRpcError as failure:
        error = f"{failure.code().name}: {(failure.details() or '')[:80]}"
    tally.record(time.perf_counter() - since, error)


async def fixed_rate(rec: Recorder, s: Servers, people: list[Who], rate: float, seconds: float) -> Tally:
    """Command i is due at i / rate; a candidate's commands follow each other (the next one waits).
    Candidates go one after the other, so the load mixes the commands as a campaign does (one
    confirmation, with its PDF, in five commands) instead of sending every confirmation last."""
    total = int(rate * seconds)
    plan = [(who, step) for who in people for step in range(STEPS)][:total]
    tally, previous, tasks = Tally(), dict[str, asyncio.Task[None]](), []

    async def fire(who: Who, step: int, due: float, before: asyncio.Task[None] | None) -> None:
        if before is not None:
            await before
        await timed(lambda: command(s.registration, who, step), due, tally)

    started = time.perf_counter()
    async with rec.ticking("gRPC fixed-rate commands", lambda: tally.done, total):
        for index, (who, step) in enumerate(plan):
            due = started + index / rate
            if (delay := due - time.perf_counter()) > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(fire(who, step, due, previous.get(who.id))))
            previous[who.id] = tasks[-1]
        await asyncio.gather(*tasks)
    return tally


async def saturate(
    rec: Recorder, label: str, clients: int, seconds: float, work: list[Callable[[Tally], Awaitable[None]]]
) -> tuple[Tally, float]:
    """`clients` loops taking the next unit of work until `seconds` have passed (or the work runs out)."""
    tally, queue = Tally(), list(reversed(work))
    started = time.perf_counter()
    deadline = started + seconds

    async def client() -> None:
        while queue and time.perf_counter() < deadline:
            await queue.pop()(tally)

    async with rec.ticking(label, lambda: tally.done):
        await asyncio.gather(*(client() for _ in range(clients)))
    return tally, time.perf_counter() - started


def candidate_work(s: Servers, who: Who) -> Callable[[Tally], Awaitable[None]]:
    async def run(tally: Tally) -> None:
        for step in range(STEPS):
            await timed(lambda step=step: command(s.registration, who, step), time.perf_counter(), tally)  # type: ignore[misc]

    return run


def account_work(s: Servers, index: int) -> Callable[[Tally], Awaitable[None]]:
    async def run(tally: Tally) -> None:
        email = f"bench-{uuid.uuid4().hex[:16]}@example.fr"
        request = apb.CreateAccountRequest(
            last_name="Martin",
            first_names="Léa",
            birth_date="2004-05-14",
            email=email,
            password="correct horse battery",
            academy="aix-marseille",
        )
        await timed(lambda: s.accounts.CreateAccount(request), time.perf_counter(), tally)
        token = s.mailer.tokens.get(email)
        if token is not None:
            activate = apb.ActivateAccountRequest(token=token, password="correct horse battery")
            await timed(lambda: s.accounts.ActivateAccount(activate), time.perf_counter(), tally)

    return run


def figures(tally: Tally, elapsed: float) -> dict[str, Any]:
    ok = len(tally.latencies)
    return {
        "commands": tally.done,
        "ok": ok,
        "errors": tally.errors,
        "commands_per_s": round(ok / elapsed, 1),
        "latency": latency_figures(tally.latencies),
        "seconds": round(elapsed, 2),
    }


async def measure(config: Config, box: Sandbox, rec: Recorder, academies: list[str]) -> None:
    rng = random.Random(config.seed)
    fixed_people = int(config.fixed_rate * 2)  # a candidate's next command comes ~2 s after the previous one
    guess = int(config.saturation_seconds * 400 / STEPS) + config.saturation_clients
    async with servers(config, box) as s:
        rec.say(f"gRPC: provisioning {fixed_people + guess} activated candidates in {len(academies)} académies")
        people = await provision(s, academies, fixed_people + guess, rng)
        rec.say(f"gRPC: {config.fixed_rate:.0f} commands/s offered for {config.fixed_seconds:.0f} s")
        started = time.perf_counter()
        tally = await fixed_rate(rec, s, people[:fixed_people], config.fixed_rate, config.fixed_seconds)
        fixed = figures(tally, time.perf_counter() - started) | {"offered_per_s": config.fixed_rate}
        rec.put("grpc_registration", fixed=fixed)
        rec.say(f"  fixed: {fixed['latency']} errors {tally.errors}")
        work = [candidate_work(s, who) for who in people[fixed_people:]]
        label = f"gRPC saturation, {config.saturation_clients} clients"
        async with profiled(config, rec, "grpc-saturation"):
            tally, elapsed = await saturate(rec, label, config.saturation_clients, config.saturation_seconds, work)
        saturation = figures(tally, elapsed) | {"clients": config.saturation_clients}
        rec.put("grpc_registration", saturation=saturation)
        rec.say(f"  saturation: {saturation['commands_per_s']} commands/s {saturation['latency']} {tally.errors}")
        accounts = [account_work(s, i) for i in range(4000)]
        seconds = config.saturation_seconds / 2
        tally, elapsed = await saturate(rec, "gRPC accounts saturation", config.saturation_clients, seconds, accounts)
        rec.put("grpc_accounts", saturation=figures(tally, elapsed) | {"clients": config.saturation_clients})
        rec.say(f"  accounts: {len(tally.latencies) / elapsed:,.1f} commands/s {latency_figures(tally.latencies)}")
