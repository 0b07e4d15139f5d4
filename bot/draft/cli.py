"""``python -m bot draft ARTICLE [-o DIGEST] [--force]``: write a draft digest and report."""

from __future__ import annotations

import sys
from pathlib import Path

from bot.draft import DraftError, NotAnArticle, draft_digest

EXIT_UNUSABLE = 2


def draft_command(article: Path, output: Path | None, force: bool) -> int:
    """Draft the digest of ``article`` into ``output`` (default: ``digest.yaml`` beside it).

    Exit 0 after writing; 2 when the article cannot be read or drafted, or the output
    exists and ``force`` is not given (nothing is overwritten then).
    """
    digest = output if output is not None else article.parent / "digest.yaml"
    if digest.exists() and not force:
        print(f"error: {digest} exists: pass --force to overwrite it", file=sys.stderr)
        return EXIT_UNUSABLE
    try:
        text = article.read_bytes().decode("utf-8")
    except OSError as error:
        print(f"error: {article}: {error.strerror or error}", file=sys.stderr)
        return EXIT_UNUSABLE
    except UnicodeDecodeError:
        print(f"error: {article}: not UTF-8 text", file=sys.stderr)
        return EXIT_UNUSABLE
    try:
        result = draft_digest(article, text, digest)
    except (NotAnArticle, DraftError) as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_UNUSABLE
    try:
        digest.parent.mkdir(parents=True, exist_ok=True)
        digest.write_text(result.yaml, encoding="utf-8")
    except OSError as error:
        print(f"error: {digest}: {error.strerror or error}", file=sys.stderr)
        return EXIT_UNUSABLE
    print(f"wrote {digest}")
    print(result.report)
    return 0
