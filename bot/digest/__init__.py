"""The digest: a hand-curated, grounded brief of one article (Telegram-free).

:func:`inspect_digest` reads a digest file and reports every problem; :func:`load_digest`
returns a :class:`Digest` or raises :class:`DigestError` with those problems.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from bot.digest.article import Article
from bot.digest.grounding import ground
from bot.digest.model import DigestDocument
from bot.digest.problems import RULES, DigestError, Problem, Rule
from bot.digest.schema import dotted, schema_problems
from bot.digest.yamlsource import YamlSource, YamlSyntaxError, parse_yaml

__all__ = [
    "RULES",
    "Article",
    "Digest",
    "DigestDocument",
    "DigestError",
    "Problem",
    "Rule",
    "inspect_digest",
    "inspect_texts",
    "load_digest",
]


@dataclass(frozen=True)
class Digest:
    """A digest that passed every rule, with the article it is grounded in."""

    path: Path
    document: DigestDocument
    article: Article
    fingerprint: str
    """SHA-256 of the digest file and the article together: equal means unchanged."""
    digest_text: str
    """The digest file as read, so that a version can be stored and served again."""


def load_digest(path: Path) -> Digest:
    """Read, validate and ground the digest at ``path``."""
    digest, problems = inspect_digest(path)
    if digest is None:
        raise DigestError(problems)
    return digest


def inspect_digest(path: Path) -> tuple[Digest | None, list[Problem]]:
    """Every problem of the digest at ``path``; the digest itself only when there are none."""
    try:
        raw = path.read_bytes()
    except OSError as error:
        return None, [Problem(path, 1, "unreadable", error.strerror or str(error))]
    return inspect_texts(path, raw)


def inspect_texts(
    path: Path, raw: bytes, article_text: str | None = None
) -> tuple[Digest | None, list[Problem]]:
    """Like :func:`inspect_digest` for a digest's bytes, named ``path`` in problems.

    With ``article_text`` (a stored version's copy) the article file is not read.
    """
    try:
        source = parse_yaml(path, raw.decode("utf-8"))
    except UnicodeDecodeError as error:
        return None, [Problem(path, 1, "encoding", f"not UTF-8 ({error.reason})")]
    except YamlSyntaxError as error:
        return None, [Problem(path, error.line, "yaml-syntax", error.detail)]

    shape = _shape_problem(source)
    if shape is not None:
        return None, [shape]
    problems = [
        Problem(path, line, "duplicate-key", f"{dotted(location)} is given twice")
        for location, line in source.duplicate_keys
    ]
    try:
        document = DigestDocument.model_validate(source.data)
    except ValidationError as error:
        problems += [
            Problem(path, source.line_of(found.location), found.rule, found.detail)
            for found in schema_problems(DigestDocument, source.data, error.errors())
        ]
        return None, sorted(problems)

    article_path = (path.parent / document.article).resolve()
    try:
        if article_text is None:
            article_text = article_path.read_bytes().decode("utf-8")
    except (OSError, UnicodeDecodeError) as error:
        reason = error.strerror if isinstance(error, OSError) else "not UTF-8"
        problems.append(
            Problem(
                path,
                source.line_of(("article",)),
                "article-missing",
                f"{document.article}: {reason}",
            )
        )
        return None, sorted(problems)

    article = Article.parse(article_path, article_text, document.title)
    problems += [
        Problem(path, source.line_of(location), rule, detail)
        for location, rule, detail in ground(document, article)
    ]
    if problems:
        return None, sorted(problems)
    fingerprint = hashlib.sha256(raw + b"\0" + article_text.encode("utf-8")).hexdigest()
    return Digest(path, document, article, fingerprint, raw.decode("utf-8")), []


def _shape_problem(source: YamlSource) -> Problem | None:
    """An empty file, or one that is not a mapping of keys, said as such: the schema's own
    error for it ("Input should be a valid dictionary") does not tell an editor what to do."""
    if source.data is None:
        detail = (
            "the file is empty"
            if not source.text.strip()
            else "the file has no content, only comments or an empty document"
        )
        return Problem(
            source.path,
            1,
            "empty-file",
            f"{detail}: a digest is a mapping of keys, starting with `title:` and `article:`",
        )
    if not isinstance(source.data, dict):
        kind = "a list" if isinstance(source.data, list) else "a single value"
        return Problem(
            source.path,
            source.line_of(()),
            "not-a-mapping",
            f"expected a mapping of keys (`title: …`, `article: …`, one per line), found {kind}",
        )
    return None
