"""Problems found in a digest, reported as ``file:line: rule: detail``."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, get_args

# Every rule `check` can print. A Literal rather than free strings: mypy then refuses a
# rule name that is not listed here, and a test holds README.md's rule table to this list.
Rule = Literal[
    # Reading the file:
    "unreadable",
    "encoding",
    "empty-file",
    "yaml-syntax",
    "duplicate-key",
    "not-a-mapping",
    # The schema:
    "missing-key",
    "unknown-key",
    "wrong-type",
    "invalid-value",
    "article-missing",
    # Grounding, from bot.digest.grounding:
    "title-not-headline",
    "paragraph-out-of-range",
    "quote-not-verbatim",
    "quote-wrong-paragraph",
    "quote-not-quoted",
    "quote-too-short",
    "figure-not-in-paragraph",
    "number-not-in-article",
    "invented-date",
    "unknown-metadata",
    "name-not-in-article",
    "name-not-in-paragraph",
    "role-not-in-article",
    "unknown-speaker",
    "when-not-in-paragraph",
    "summary-too-long",
    "lexicon-not-in-article",
    "lexicon-name-not-in-article",
    "lexicon-twice",
    # Rendering every template with the digest, from bot.cli:
    "template",
    "telegram-html",
]
RULES: tuple[Rule, ...] = get_args(Rule)


def display_path(path: Path) -> str:
    """Show ``path`` relative to the working directory when it lies below it."""
    try:
        return os.path.relpath(path) if path.is_absolute() and _below_cwd(path) else str(path)
    except ValueError:  # another drive on Windows
        return str(path)


def _below_cwd(path: Path) -> bool:
    return path.resolve().is_relative_to(Path.cwd().resolve())


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong with a digest, located in a file."""

    file: Path
    line: int
    rule: Rule
    detail: str

    def __str__(self) -> str:
        return f"{display_path(self.file)}:{self.line}: {self.rule}: {self.detail}"


class DigestError(Exception):
    """The digest cannot be served; ``problems`` says why, one entry per problem."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = sorted(problems)
        super().__init__("\n".join(str(problem) for problem in self.problems))
