"""The hash chain of a stream, judged: what each finding means is told in shared.audit.verify."""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

ALTERED, DELETED, INSERTED, REORDERED = "ALTERED", "DELETED", "INSERTED", "REORDERED"
UNVERIFIED = "UNVERIFIED"  # a topic record with no hash header whose event the store does not hold
MAX_RENUMBER_CHECK = 200  # above this many versions, renumbering is not searched (quadratic)


@dataclass(frozen=True)
class Finding:
    kind: str
    where: str  # "store:<schema>" or "topic:<name>"
    stream_id: str
    version: int | None
    event_id: str | None
    detail: str

    def __str__(self) -> str:
        version = f" v{self.version}" if self.version is not None else ""
        event = f" event {self.event_id}" if self.event_id else ""
        return f"{self.kind} {self.where} {self.stream_id}{version}{event}: {self.detail}"


@dataclass
class Report:
    findings: list[Finding] = field(default_factory=list)
    events: int = 0
    streams: int = 0


@dataclass(frozen=True)
class Link:
    """One event of a stream as the auditor sees it."""

    version: int
    event_id: str
    content: bytes
    hash: bytes | None  # None: no hash to check it against
    as_version: Callable[[int], bytes]  # the content had the event been stored at version k
    order: int  # log position (store) or offset rank (topic)
    label: str


def sha(previous: bytes, content: bytes) -> bytes:
    return hashlib.sha256(previous + content).digest()


def judge_stream(where: str, stream_id: str, links: Sequence[Link]) -> list[Finding]:
    """Findings of one stream's events, given in version order (one per version)."""
    findings: list[Finding] = []
    holders: dict[bytes, list[int]] = defaultdict(list)
    for link in links:
        if link.hash is not None:
            holders[link.hash].append(link.version)
    top = max((link.version for link in links), default=0)
    accepted, expected = {b""}, 1
    for link in links:
        if link.version > expected:
            gap = f"version {expected}" if link.version == expected + 1 else f"versions {expected}-{link.version - 1}"
            detail = f"{gap} missing before event {link.event_id} (v{link.version}), which cannot be checked"
            findings.append(Finding(DELETED, where, stream_id, expected, None, detail))
            accepted, expected = {link.hash} if link.hash is not None else set(), link.version + 1
            continue
        expected = link.version + 1
        if link.hash is None:
            detail = f"no chain hash to check it against: no hash header, and not in the store ({link.label})"
            findings.append(Finding(UNVERIFIED, where, stream_id, link.version, link.event_id, detail))
            accepted = set()
            continue
        if not accepted:  # its predecessor could not be checked, nor can its link to it
            accepted = {link.hash}
            continue
        if any(sha(previous, link.content) == link.hash for previous in accepted):
            accepted = {link.hash}
            continue
        kind, detail = _diagnose(link, holders, top if len(links) <= MAX_RENUMBER_CHECK else 0)
        findings.append(Finding(kind, where, stream_id, link.version, link.event_id, f"{detail} ({link.label})"))
        accepted = {link.hash} if kind == ALTERED else accepted | {link.hash}
    # Identity positions only grow: a row deleted and inserted again lands after its successors.
    flagged = {f.version for f in findings if f.kind == REORDERED}
    lowest: Link | None = None
    for link in reversed(links):
        if lowest is not None and link.order > lowest.order and link.version not in flagged:
            detail = f"{link.label} comes after v{lowest.version}'s ({lowest.label}): written out of order"
            findings.append(Finding(REORDERED, where, stream_id, link.version, link.event_id, detail))
        if lowest is None or link.order < lowest.order:
            lowest = link
    findings.sort(key=lambda f: f.version or 0)
    return findings


def _diagnose(link: Link, holders: dict[bytes, list[int]], top: int) -> tuple[str, str]:
    assert link.hash is not None
    copies = [version for version in holders[link.hash] if version != link.version]
    if copies:
        return INSERTED, f"its hash is a copy of v{copies[0]}'s: a forged event"
    starts = [b"", *holders]
    for previous in starts:
        if sha(previous, link.content) == link.hash:
            origin = f"v{holders[previous][0]}" if previous else "the start"
            return INSERTED, f"its content matches its hash chained from {origin}, not from v{link.version - 1}"
    for version in range(1, top + 2):
        if version != link.version:
            content = link.as_version(version)
            if any(sha(previous, content) == link.hash for previous in starts):
                return REORDERED, f"its content matches its hash as v{version}: renumbered from v{version}"
    return ALTERED, (
        f"its content does not match its hash chained from v{link.version - 1}: changed after the append"
        f" (or v{link.version - 1} was changed and its hash rewritten)"
    )
