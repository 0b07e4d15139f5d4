"""The drafter from Telegram: an admin sends an article as a document and gets the draft back,
through the Bot API double."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from bot import SEEDS_DIR
from bot.chat.drafting import MAX_ARTICLE_BYTES, article_name, document_problem
from bot.cli import check_command
from tests.botapi import BotApiDouble
from tests.e2e import ADMIN

SEED = SEEDS_DIR / "000_5af58b1d35c2d298.txt"


def downloads(api: BotApiDouble) -> int:
    return len(api.calls_to("getFile"))


@pytest.mark.usefixtures("bot")
async def test_an_admin_who_sends_an_article_gets_the_draft_and_the_report(
    api: BotApiDouble, tmp_path: Path
) -> None:
    api.send_document(ADMIN, "chertoff.txt", SEED.read_bytes())
    [report] = await api.wait_for_messages_async(ADMIN, 1, timeout=30)
    [(chat, filename, digest_bytes)] = api.documents_sent
    assert (chat, filename) == (ADMIN, "digest.yaml")
    drafted = yaml.safe_load(digest_bytes.decode("utf-8"))
    assert drafted["article"] == "chertoff.txt"
    assert [quote["speaker"] for quote in drafted["quotes"]] == ["Michael Chertoff"] * 3
    assert "Nothing is published" in report.visible_text
    assert "/reload" in report.visible_text
    assert "3 quotes" in report.visible_text
    # What came back passes check beside the article, as the admin will use it.
    shutil.copyfile(SEED, tmp_path / "chertoff.txt")
    (tmp_path / "digest.yaml").write_bytes(digest_bytes)
    assert check_command(tmp_path / "digest.yaml") == 0


@pytest.mark.usefixtures("bot")
async def test_a_non_admin_who_sends_a_document_is_refused_politely(api: BotApiDouble) -> None:
    api.send_document(8, "chertoff.txt", SEED.read_bytes())
    [refusal] = await api.wait_for_messages_async(8, 1)
    assert refusal.visible_text.startswith("Sorry") and "admins only" in refusal.visible_text
    assert api.documents_sent == []
    assert downloads(api) == 0  # not even downloaded


@pytest.mark.usefixtures("bot")
@pytest.mark.parametrize(
    ("file_name", "mime_type", "content", "words"),
    [
        ("scan.pdf", "application/pdf", b"%PDF-1.4", "plain-text article"),
        ("big.txt", "text/plain", b"x" * (MAX_ARTICLE_BYTES + 1), "at most 1000 KB"),
        (
            "latin1.txt",
            "text/plain",
            "Caf\xe9 News Opens Today\n\nIt did.".encode("latin-1"),
            "UTF-8",
        ),
        ("menu.txt", "text/plain", b"Menu\n\nHome\n", "headline"),
    ],
)
async def test_a_document_that_cannot_be_drafted_gets_a_clear_error(
    api: BotApiDouble, file_name: str, mime_type: str, content: bytes, words: str
) -> None:
    api.send_document(ADMIN, file_name, content, mime_type)
    [error] = await api.wait_for_messages_async(ADMIN, 1, timeout=30)
    assert words in error.visible_text
    assert api.documents_sent == []
    # Wrong type or size is seen before downloading anything.
    assert downloads(api) == (0 if file_name in {"scan.pdf", "big.txt"} else 1)


def test_the_article_is_named_by_its_file_name_alone() -> None:
    assert article_name("../../etc/story.txt") == "story.txt"
    assert article_name("C:\\news\\story.txt") == "story.txt"
    assert article_name(None) == "article.txt"
    assert document_problem("notes.md", "text/markdown", 10) == "not_text"
    assert document_problem("story", "text/plain", 10) is None
