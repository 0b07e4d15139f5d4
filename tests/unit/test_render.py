"""Templates render every section of the shipped digest within Telegram's rules, and say
what the contract says they say."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.digest import Digest, load_digest
from bot.markup import problems, to_plain_text
from bot.render import SECTIONS, Renderer, digest_context, names_calendar_dates


@pytest.fixture(scope="module")
def renderer() -> Renderer:
    return Renderer()


def plain(renderer: Renderer, section: str, digest: Digest) -> str:
    return "\n".join(to_plain_text(part) for part in renderer.section(section, digest))


@pytest.mark.parametrize("section", SECTIONS)
def test_every_section_is_valid_telegram_html(
    renderer: Renderer, digest: Digest, section: str
) -> None:
    for part in renderer.section(section, digest):
        assert problems(part) == []


def test_summary_has_headline_summary_key_points_and_key_figure(
    renderer: Renderer, digest: Digest
) -> None:
    text = plain(renderer, "summary", digest)
    assert text.startswith(digest.document.title)
    assert digest.document.summary in text
    assert "Key figure: about 39,000" in text
    for point in digest.document.key_points:
        assert point.text in text


def test_quotes_are_verbatim_with_speaker_and_role(renderer: Renderer, digest: Digest) -> None:
    text = plain(renderer, "quotes", digest)
    for quote in digest.document.quotes:
        assert (
            f"“{quote.text}”\n— Michael Chertoff, U.S. Homeland Security Chief [¶ {quote.cite[0]}]"
            in text
        )
    assert "going back home" in text and "green lane ports" in text


def test_figures_lists_both_with_context(renderer: Renderer, digest: Digest) -> None:
    text = plain(renderer, "figures", digest)
    assert "about 39,000 — illegal Chinese migrants" in text
    assert "thousands — illegal Chinese migrants U.S. authorities have had to release" in text
    assert "not enough space" in text


def test_people_groups_every_kind(renderer: Renderer, digest: Digest) -> None:
    text = plain(renderer, "people", digest)
    for heading in ("People", "Organisations", "Places", "Initiatives"):
        assert f"\n{heading}\n" in text
    assert "Chinese foreign ministry spokesman" in text and "Megaports Initiative" in text


def test_timeline_uses_relative_times_and_no_invented_dates(
    renderer: Renderer, digest: Digest
) -> None:
    text = plain(renderer, "timeline", digest)
    assert "This week" in text and "On Tuesday" in text
    months = r"January|February|March|April|June|July|August|September|October|November|December"
    assert not re.search(months, text)
    assert not re.search(r"\b(19|20)\d\d\b", text)


NO_DATES = "The article gives no calendar dates"

DATED_ARTICLE = """Harbor Council Approves Ferry Plan

The council voted 7-2 on March 4 to approve a new ferry route to the islands.

Construction would start in September, the council said.
"""

DATED_DIGEST = """title: Harbor Council Approves Ferry Plan
article: article.txt
summary: The council approved a new ferry route; construction starts in September.
summary_cite: [1, 2]
key_points:
  - text: The council voted 7-2 to approve a new ferry route.
    cite: [1]
quotes: []
figures: []
timeline:
  - when: on March 4
    event: The council approved the ferry route.
    cite: [1]
"""


def test_the_timeline_says_there_are_no_dates_only_when_there_are_none(
    renderer: Renderer, digest: Digest, tmp_path: Path
) -> None:
    assert NO_DATES in plain(renderer, "timeline", digest)  # "on Tuesday" is not a date
    (tmp_path / "article.txt").write_text(DATED_ARTICLE, encoding="utf-8")
    (tmp_path / "digest.yaml").write_text(DATED_DIGEST, encoding="utf-8")
    dated = load_digest(tmp_path / "digest.yaml")
    text = plain(renderer, "timeline", dated)
    assert NO_DATES not in text
    assert "Times are in the article's own words." in text
    assert "On March 4 — The council approved the ferry route." in text


@pytest.mark.parametrize(
    ("text", "dated"),
    [
        ("The council met on March 4.", True),
        ("It opened in 2019.", True),
        ("Filed 12/03/2024 by the clerk.", True),
        ("The vote is due on Dec. 5.", True),
        ("Work begins in May.", True),
        ("He met officials on Tuesday and this week.", False),
        ("They may march on the capital; May we ask why?", False),
        ("About 39,000 migrants, 1,200 of them released.", False),
    ],
)
def test_names_calendar_dates(text: str, dated: bool) -> None:
    assert names_calendar_dates(text) is dated


def test_source_marks_metadata_unknown(renderer: Renderer, digest: Digest) -> None:
    text = plain(renderer, "source", digest)
    assert "Publisher: unknown" in text and "Published: unknown" in text
    assert "11 paragraphs" in text


def test_paragraph_and_bad_number(renderer: Renderer, digest: Digest) -> None:
    context = digest_context(digest)
    [paragraph] = renderer.messages("paragraph.html", number=8, **context)
    assert "Paragraph 8 of 11" in paragraph and "Megaports Initiative" in paragraph
    [refusal] = renderer.messages("no_such_paragraph.html", requested="x<b>", **context)
    assert "x&lt;b&gt;" in refusal and problems(refusal) == []


def test_labels_come_from_the_template(renderer: Renderer) -> None:
    assert set(renderer.labels.sections) == set(SECTIONS)
    assert renderer.labels.paragraph_button(3) == "¶ 3"
    assert set(SECTIONS) <= set(renderer.labels.command_menu)


def test_message_templates_exclude_partials_and_labels(renderer: Renderer) -> None:
    names = renderer.message_templates()
    assert "_macros.html" not in names and "labels.j2" not in names
    assert {f"{section}.html" for section in SECTIONS} <= set(names)
