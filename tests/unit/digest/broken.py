"""Helpers of the tests that break the shipped digest and read what ``check`` says."""

from __future__ import annotations

from pathlib import Path

from bot.digest import inspect_digest

FIRST_QUOTE = (
    "      They will not be getting released into the United States. We can have a huge effect"
    " on\n      this by starting to establish deterrents, which we have not been able to do up"
    " to now.\n"
)
"""The text lines of the seed digest's first quote, as the file holds them."""


def problem_lines(path: Path) -> list[str]:
    """The problems ``check`` reports for the digest at ``path`` (which must not validate)."""
    digest, problems = inspect_digest(path)
    assert digest is None
    return [str(problem) for problem in problems]
