"""NATS subject rules: what a subject and a pattern may be, and how patterns match."""

from __future__ import annotations

import pytest

from wasmesh.capabilities.messaging.subjects import (
    SubjectError,
    check_subject,
    granted,
    matches,
)


@pytest.mark.parametrize(
    ("pattern", "subject", "expected"),
    [
        ("orders.new", "orders.new", True),
        ("orders.new", "orders.old", False),
        ("orders.*", "orders.new", True),
        ("orders.*", "orders", False),
        ("orders.*", "orders.eu.new", False),
        ("orders.>", "orders.eu.new", True),
        ("orders.>", "orders.new", True),
        ("orders.>", "orders", False),
        ("*.new", "orders.new", True),
        ("*.*.x", "a.b.x", True),
        (">", "anything.at.all", True),
        ("orders.*.new", "orders.eu.old", False),
    ],
)
def test_nats_wildcards(pattern: str, subject: str, expected: bool) -> None:
    assert matches(pattern, subject) is expected


def test_a_grant_matches_when_one_pattern_does() -> None:
    assert granted(["audit.*", "orders.>"], "orders.eu.1")
    assert not granted(["audit.*", "orders.>"], "payroll.run")
    assert not granted([], "orders.1")


@pytest.mark.parametrize(
    ("text", "pattern", "why"),
    [
        ("", False, "empty"),
        ("orders..new", False, "empty token"),
        ("orders.", False, "empty token"),
        ("orders new", False, "whitespace"),
        ("orders.*", False, "wildcard"),
        ("orders.>.x", True, "last token"),
        ("orders.ne*", True, "whole token"),
    ],
)
def test_bad_subjects_and_patterns_are_refused(text: str, pattern: bool, why: str) -> None:
    with pytest.raises(SubjectError, match=why):
        check_subject(text, pattern=pattern)


def test_good_patterns_pass() -> None:
    for text in ("orders.>", "*.new", ">", "a.*.c"):
        assert check_subject(text, pattern=True) == text
