"""Rebuilds: a read model emptied and replayed from the first offset of its topics (DESIGN rule 5).

The rebuild holds the projection's advisory lock exclusively, so live handling waits, then resumes
where it was. Stream heads (version and chain hash) live in memory during a replay, and every
record is checked as live handling checks it (shared.record_check): a duplicate (the relay
publishes at least once) is recognised, and a record that is not its stream's next link, or
cannot be read, is parked on the dead-letter topic, never applied.

A projection marked `partitioned` can be rebuilt by several processes. Its rows for a Kafka key
(the candidate) depend only on that key's events. Every topic is keyed alike by the relays, so
when the topics have the same partition count, a candidate's events are in partition p of every
topic. Each process then replays its share of the partition indices, across all topics, and no two
processes write the same rows. One Python process decodes about 50,000 events a second here
(issue 7): the parsing and validation of each event into its typed model is CPU-bound, and a
process of its own uses the core that the first one leaves to PostgreSQL and the broker. The
processes write without the lock, which their coordinator holds: one whose coordinator is gone
(killed) stops before its next write, and the read model, partly rebuilt, is rebuilt again.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import pickle
import sys
import time
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from dataclasses import dataclass, field

import asyncpg

from shared.chain_check import Head
from shared.db import Connection, check_identifier
from shared.dead_letter import DeadLetters, KafkaDeadLetters, LogOnly, Parked, Source, log_parked
from shared.events import Envelope, EventRegistry
from shared.infra.process import peak_rss_kb
from shared.kafka import KafkaAccess, decode_headers
from shared.personal import KEYRING, subjects_in
from shared.projections import Projection, ProjectionRunner, lock_key, record_heads
from shared.record_check import RecordCheck
from shared.topic_reader import Ranges, Record, TopicReader


@dataclass(frozen=True)
class RebuildReport:
    projection: str
    events_read: int
    events_applied: int
    processes: int = 1
    startup_seconds: float = 0.0  # emptying the read model, the topics' offsets, starting the processes
    peak_rss_kb: tuple[int, ...] = ()  # of each rebuild process (none when replayed in the caller's)
    events_parked: int = 0  # records parked on the dead-letter topic (shared.record_check)


@dataclass(frozen=True)
class Workers:
    """How a partitioned projection may be rebuilt by several processes: `processes` of them, each
    with its own connection to `dsn`, once the topics hold at least `from_records` records (below
    that, starting the processes costs more than they save: about 0.3 s here)."""

    dsn: str
    processes: int = 2
    from_records: int = 100_000

    def __post_init__(self) -> None:
        if self.processes < 1:
            raise ValueError(f"processes must be 1 or more, not {self.processes}")


def shares(partition_counts: Mapping[str, int], processes: int) -> list[frozenset[int]] | None:
    """The partition indices each process replays (of every topic), or None when the topics do not
    all have the same partition count: a candidate's events could then sit in partitions of
    different indices, and the processes would write the same rows."""
    counts = set(partition_counts.values())
    if len(counts) != 1:
        return None
    (count,) = counts
    return [frozenset(range(first, count, processes)) for first in range(min(processes, count))]


@dataclass
class _Replay:
    """One process's replay into one connection: decoded a batch while the previous one is written."""

    projection: Projection
    registry: EventRegistry
    connection: Connection
    coordinator: int | None = None  # a rebuild process's coordinating process id (None: in it)
    dead_letters: DeadLetters = field(default_factory=LogOnly)
    heads: dict[str, Head] = field(default_factory=dict)
    read: int = 0
    applied: int = 0
    parked: int = 0

    async def run(self, reader: TopicReader, batch_size: int) -> None:
        writing: asyncio.Future[None] | None = None
        try:
            while records := await reader.next_batch(batch_size):
                self.read += len(records)
                if subjects := subjects_in(record[0] for record in records):  # sealed personal data
                    if writing is not None:  # the connection reads the keys once the last write is done
                        await writing
                        writing = None
                    await KEYRING.prepare(self.connection, subjects)
                todo, changed, parked = await self._new_events(records)
                if writing is not None:
                    await writing
                    gc.collect(1)  # the young generations, between batches (see _collector_paused)
                writing = None
                if todo or parked:
                    writing = asyncio.ensure_future(self._write(todo, changed, parked))
                    self.applied += len(todo)
                    self.parked += len(parked)
            if writing is not None:
                await writing
        finally:
            if writing is not None and not writing.done():
                with contextlib.suppress(Exception):  # the first error is already raised
                    await writing

    async def _new_events(self, records: Sequence[Record]) -> tuple[list[Envelope], dict[str, Head], list[Parked]]:
        """The events of `records` to apply, in order, with the head of each stream they move on,
        and the records to park (shared.record_check)."""
        check, heads = RecordCheck(self.projection, self.registry), self.heads
        todo: list[Envelope] = []
        parked: list[Parked] = []
        changed: dict[str, Head] = {}
        for index, (value, raw_headers, topic, partition, offset, key) in enumerate(records):
            if index % 256 == 255:
                await asyncio.sleep(0)  # lets the previous batch's write go on meanwhile
            headers, source = decode_headers(raw_headers), Source(topic, partition, offset, key)
            read = check.read(value, headers, source)
            if isinstance(read, Parked):
                parked.append(read)
                continue
            before = heads.get(read.stream_id)
            taken = check.take(heads, read, headers, source)
            if isinstance(taken, Parked):
                parked.append(taken)
                continue
            if heads.get(read.stream_id) is not before:
                changed[read.stream_id] = heads[read.stream_id]
            if taken is not None:
                todo.append(taken)
        return todo, changed, parked

    async def _write(self, todo: list[Envelope], changed: dict[str, Head], parked: list[Parked]) -> None:
        if self.coordinator is not None and os.getppid() != self.coordinator:
            # The coordinator held the projection's lock: with it gone, live handling or another
            # rebuild may be writing this read model. What this process wrote stays partial.
            raise RebuildFailed(f"the coordinating process {self.coordinator} is gone: stopped before writing")
        async with self.connection.transaction():
            await self.projection.apply_many(self.connection, todo)
            await record_heads(self.connection, self.projection.name, changed)
            for record in parked:
                log_parked(record)
            if parked:
                await self.dead_letters.park(parked)  # before the commit, as live handling does


async def rebuild(
    runner: ProjectionRunner,
    access: KafkaAccess,
    topics: Sequence[str],
    batch_size: int = 5000,
    *,
    workers: Workers | None = None,
    dead_letter_topic: str | None = None,
) -> RebuildReport:
    """Empties the runner's read model and replays `topics` from their first offset up to their end
    offsets at the start of the rebuild; live handling waits, then resumes where it was. With
    `workers`, a partitioned projection over a large enough backlog is replayed by processes: they
    are started first, so that they load their code while the read model is emptied and the
    offsets are read, and are dismissed if the backlog turns out too small. Records that do not
    chain, or cannot be read, are parked on `dead_letter_topic` (else with the runner's own
    dead letters: a log line each)."""
    projection, started = runner.projection, time.perf_counter()
    if workers is not None and (workers.processes < 2 or not projection.partitioned):
        workers = None  # one process, this one
    async with (
        _Processes(workers.processes if workers else 0, _modules(runner)) as processes,
        runner.pool.acquire() as connection,
    ):
        key = lock_key(projection)
        await connection.execute("SELECT pg_advisory_lock(hashtext($1))", key)
        try:
            async with connection.transaction():
                for table in projection.tables:
                    await connection.execute(f"DELETE FROM {check_identifier(table)}")
                await connection.execute("DELETE FROM projection_streams WHERE projection = $1", projection.name)
            async with TopicReader(access, topics) as reader:
                split = _split(reader, workers)
                if split is None:
                    await processes.dismiss()
                    async with _dead_letters(access, dead_letter_topic, runner.dead_letters) as sink:
                        replay = _Replay(projection, runner.registry, connection, dead_letters=sink)
                        startup = time.perf_counter() - started
                        with _collector_paused():
                            await replay.run(reader, batch_size)
                    return RebuildReport(
                        projection.name, replay.read, replay.applied, 1, round(startup, 3), (), replay.parked
                    )
            assert workers is not None
            schema = await connection.fetchval("SELECT current_schema()")
            registry, names = runner.registry, tuple(topics)
            jobs = [
                Job(
                    workers.dsn,
                    schema,
                    access,
                    names,
                    part,
                    projection,
                    registry,
                    batch_size,
                    os.getpid(),
                    dead_letter_topic,
                )
                for part in split
            ]
            done = await processes.run(jobs)
            startup = max(0.0, max(d.began for d in done) - started)
            read, applied = sum(d.read for d in done), sum(d.applied for d in done)
            peaks = tuple(d.peak_rss_kb for d in done)
            parked = sum(d.parked for d in done)
            return RebuildReport(projection.name, read, applied, len(jobs), round(startup, 3), peaks, parked)
        finally:
            await connection.execute("SELECT pg_advisory_unlock(hashtext($1))", key)


@contextlib.asynccontextmanager
async def _dead_letters(access: KafkaAccess, topic: str | None, otherwise: DeadLetters) -> AsyncIterator[DeadLetters]:
    """A producer of its own on `topic` for the rebuild's time, else `otherwise`."""
    if topic is None:
        yield otherwise
        return
    sink = KafkaDeadLetters(access, topic)
    try:
        yield sink
    finally:
        await sink.close()


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """The cyclic garbage collector off while a replay runs (it collects the young generations
    between batches). A batch keeps thousands of decoded events alive, so the collector would
    otherwise run every few hundred allocations and, as they survive, walk the older
    generations too: about a quarter of a rebuild's CPU, more as the heap grows (issue 7). The
    events hold no cycles; reference counting frees them. The previous state is restored."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _modules(runner: ProjectionRunner) -> list[str]:
    """The modules a rebuild process imports before it is given its job: the projection's and
    those of the event models it will decode."""
    models = runner.registry.models.values()
    return sorted({type(runner.projection).__module__, *(model.__module__ for model in models)})


def _split(reader: TopicReader, workers: Workers | None) -> list[Ranges] | None:
    """Each process's partitions with their offsets, or None to replay in this process."""
    if workers is None or reader.records < workers.from_records:
        return None
    split = shares(reader.partition_counts, workers.processes)
    if split is None:
        return None
    parts = [{tp: r for tp, r in reader.ranges.items() if tp.partition in part} for part in split]
    given = [part for part in parts if part]  # no process for partitions without records
    return given if len(given) > 1 else None


@dataclass(frozen=True)
class Job:
    """What a rebuild process is given (pickled to its standard input: shared.rebuild_worker)."""

    dsn: str
    schema: str
    access: KafkaAccess  # the rebuilding service's principal
    topics: tuple[str, ...]
    ranges: Ranges
    projection: Projection
    registry: EventRegistry
    batch_size: int
    coordinator: int  # the process id of the rebuild that started this process
    dead_letter_topic: str | None = None


@dataclass(frozen=True)
class Done:
    """What a rebuild process answers: records read, events applied, when it began reading
    (time.perf_counter: one clock for every process of a machine)."""

    read: int
    applied: int
    began: float
    peak_rss_kb: int = 0
    parked: int = 0


class RebuildFailed(Exception):
    """A rebuild process failed; the read model is left partly rebuilt (rebuild it again)."""


def _import_path() -> str:
    """The caller's import path, made absolute ('' is the working directory), so that the rebuild
    processes load the same code, the projection's module included."""
    return os.pathsep.join(os.path.abspath(entry or os.curdir) for entry in sys.path)


class _Processes:
    """Rebuild processes (`python -m shared.rebuild_worker MODULE...`), started on entry; each is
    then given a job, or dismissed. Any still running on exit (an error, a cancellation) is killed."""

    def __init__(self, count: int, modules: Sequence[str]) -> None:
        self._count, self._modules = count, list(modules)
        self._children: list[asyncio.subprocess.Process] = []

    async def __aenter__(self) -> _Processes:
        environment = {**os.environ, "PYTHONPATH": _import_path()}
        for _ in range(self._count):
            self._children.append(
                await asyncio.create_subprocess_exec(
                    sys.executable,
                    "-m",
                    "shared.rebuild_worker",
                    *self._modules,
                    stdin=asyncio.subprocess.PIPE,
                    stdout=asyncio.subprocess.PIPE,
                    env=environment,
                )
            )
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.dismiss()

    async def dismiss(self) -> None:
        """Ends the processes not given a job (they are only loading code: nothing to lose)."""
        for child in self._children:
            if child.returncode is None:
                child.kill()
                await child.wait()

    async def run(self, jobs: Sequence[Job]) -> list[Done]:
        """Gives each job to a process (the others are dismissed) and waits for them all; a failure
        is raised once every process has ended."""
        assert len(jobs) <= len(self._children), "more jobs than processes"
        given: list[Job | None] = [*jobs, *([None] * (len(self._children) - len(jobs)))]
        answers = await asyncio.gather(
            *(child.communicate(pickle.dumps(job)) for child, job in zip(self._children, given, strict=True))
        )
        done: list[Done] = []
        for index, (child, job, (out, _)) in enumerate(zip(self._children, given, answers, strict=True)):
            answer = pickle.loads(out) if out else None
            if child.returncode != 0 or (job is not None and not isinstance(answer, Done)):
                raise RebuildFailed(f"rebuild process {index + 1} of {len(jobs)} failed: {answer or child.returncode}")
            if isinstance(answer, Done):
                done.append(answer)
        return done


async def replay_job(job: Job) -> Done:
    """A rebuild process's work (shared.rebuild_worker): its partitions into its own connection."""
    connection = await asyncpg.connect(job.dsn, server_settings={"search_path": check_identifier(job.schema)})
    try:
        async with (
            _dead_letters(job.access, job.dead_letter_topic, LogOnly()) as sink,
            TopicReader(job.access, job.topics, job.ranges) as reader,
        ):
            replay = _Replay(job.projection, job.registry, connection, job.coordinator, sink)
            began = time.perf_counter()
            with _collector_paused():
                await replay.run(reader, job.batch_size)
        return Done(replay.read, replay.applied, began, peak_rss_kb(), replay.parked)
    finally:
        await connection.close()
