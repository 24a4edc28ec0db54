"""How a rebuild is split across processes (shared.rebuild), and how the reader finds a record's
event type (shared.topic_reader): pure parts, no servers."""

from __future__ import annotations

import pytest

from shared.rebuild import Workers, shares
from shared.topic_reader import event_type_of


def test_partition_indices_are_dealt_to_the_processes_in_turn() -> None:
    split = shares({"archipel.accounts.events": 12, "archipel.results.events": 12}, 2)
    assert split == [frozenset({0, 2, 4, 6, 8, 10}), frozenset({1, 3, 5, 7, 9, 11})]


def test_no_more_processes_than_partitions() -> None:
    assert shares({"a": 3, "b": 3}, 5) == [frozenset({0}), frozenset({1}), frozenset({2})]


def test_topics_of_unequal_partition_counts_are_not_split() -> None:
    """A key's events could then be in partitions of different indices, read by two processes."""
    assert shares({"a": 12, "b": 6}, 2) is None


def test_workers_are_one_process_or_more() -> None:
    with pytest.raises(ValueError, match="processes must be 1 or more, not 0"):
        Workers("postgresql://localhost/archipel", processes=0)


def test_the_event_type_header_is_read_first_and_looked_for_otherwise() -> None:
    assert event_type_of([("event_type", b"AccountActivated"), ("academy", b"lyon")]) == "AccountActivated"
    assert event_type_of([("academy", b"lyon"), ("event_type", b"GradesRecorded")]) == "GradesRecorded"
    assert event_type_of([("academy", b"lyon")]) is None
    assert event_type_of([]) is None
