"""Each candidate's dossier holds at most MAX_DOCUMENTS_PER_DOSSIER documents and
MAX_BYTES_PER_DOSSIER bytes (issue 13, bounded input): every kind a dossier may need, each replaced
a few times, stays well under them. Every upload of the dossier counts, replaced ones included
(they stay in the blob store and in the history).

Refused with FAILED_PRECONDITION (a RuleViolation), not RESOURCE_EXHAUSTED: the quota is a state
of the dossier that waiting does not change (RESOURCE_EXHAUSTED tells a client to retry later, as
the rate limits do); only the rectorate can help."""

from __future__ import annotations

from collections.abc import Collection

from shared.errors import RuleViolation

MAX_DOCUMENTS_PER_DOSSIER = 40
MAX_BYTES_PER_DOSSIER = 100 * 1024 * 1024
QUOTA = "quota per dossier, issue 13"


def check_quota(stored: Collection[int], size: int) -> None:
    """A dossier holding files of `stored` sizes has room for one more of `size` bytes."""
    if len(stored) >= MAX_DOCUMENTS_PER_DOSSIER:
        raise RuleViolation(
            QUOTA, f"this dossier holds {MAX_DOCUMENTS_PER_DOSSIER} documents, the most it may; contact the rectorate"
        )
    total = sum(stored)
    if total + size > MAX_BYTES_PER_DOSSIER:
        raise RuleViolation(
            QUOTA,
            f"this dossier holds {total:,} bytes; with this file it would pass its {MAX_BYTES_PER_DOSSIER:,} bytes",
        )
