"""NATS subject rules, shared by the in-process broker, grants and triggers.

A subject is dot-separated tokens (`orders.eu.new`); no token is empty or holds whitespace.
A pattern may also use `*` (exactly one token) and, as its last token, `>` (one or more
tokens), as nats-server matches subscriptions (docs.nats.io, "Subject-Based Messaging",
"Wildcards"). A grant (`messaging = ["orders.>"]`) is a list of patterns; a publish or
request is allowed when one of them matches its subject.
"""

from __future__ import annotations

from collections.abc import Iterable


class SubjectError(ValueError):
    """A subject or pattern that breaks the NATS rules (the message says which rule)."""


def check_subject(subject: str, *, pattern: bool = False) -> str:
    """`subject` unchanged, or `SubjectError`; with `pattern`, `*` and a final `>` are allowed."""
    if not subject:
        raise SubjectError("a subject cannot be empty")
    tokens = subject.split(".")
    for i, token in enumerate(tokens):
        if not token:
            raise SubjectError(f"subject `{subject}` has an empty token (two dots or an end dot)")
        if any(c.isspace() for c in token):
            raise SubjectError(f"subject `{subject}` holds whitespace")
        wild = token in ("*", ">")
        if not pattern and ("*" in token or ">" in token):
            raise SubjectError(f"subject `{subject}` has a wildcard; publish to a plain subject")
        if pattern and not wild and ("*" in token or ">" in token):
            raise SubjectError(f"pattern `{subject}`: a wildcard must be a whole token")
        if token == ">" and i != len(tokens) - 1:
            raise SubjectError(f"pattern `{subject}`: `>` may only be the last token")
    return subject


def matches(pattern: str, subject: str) -> bool:
    """Whether the plain `subject` matches `pattern` (NATS wildcard semantics)."""
    want = pattern.split(".")
    have = subject.split(".")
    for i, token in enumerate(want):
        if token == ">":
            return len(have) > i
        if i >= len(have) or (token != "*" and token != have[i]):
            return False
    return len(have) == len(want)


def granted(patterns: Iterable[str], subject: str) -> bool:
    """Whether one of the grant's `patterns` matches `subject`."""
    return any(matches(p, subject) for p in patterns)
