"""The article reader: page chrome, byline, date line and dateline are metadata, not paragraphs;
and the validator accepts the byline, date and place an article states."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot import SEEDS_DIR
from bot.digest import inspect_digest
from bot.digest.article import (
    Article,
    Byline,
    Dateline,
    DateParts,
    is_chrome,
    parse_byline,
    parse_date,
    parse_dateline,
)

HEADLINE = "Council Approves Ferry Terminal After Long Debate"
BODY = (
    "The council voted 7-2 on Tuesday to build the terminal.\n\n"
    '"This is a good day," said Mayor Ines Calder.\n\n'
    "Construction would start in September."
)


def read(text: str, headline: str = HEADLINE) -> Article:
    return Article.parse(Path("story.txt"), text, headline)


# --- bylines -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "names", "title"),
    [
        ("By Dana Whitcombe", ("Dana Whitcombe",), None),
        (
            "By Priya Natarajan, Transport Correspondent",
            ("Priya Natarajan",),
            "Transport Correspondent",
        ),
        ("By Priya Natarajan and Tom Hale", ("Priya Natarajan", "Tom Hale"), None),
        ("By Ann Lee, Bo Chen and Cy Dunn", ("Ann Lee", "Bo Chen", "Cy Dunn"), None),
        ("By Ann Lee, Bo Chen, and Cy Dunn", ("Ann Lee", "Bo Chen", "Cy Dunn"), None),
        (
            "By Ann Lee and Bo Chen, Staff Writers",
            ("Ann Lee", "Bo Chen"),
            "Staff Writers",
        ),
        ("By J. R. Okafor, Reuters", ("J. R. Okafor",), "Reuters"),
        ("BY Luis de Souza", ("Luis de Souza",), None),
        ("By Dana Whitcombe in Harbor City", ("Dana Whitcombe",), "in Harbor City"),
        (
            "By Dana Whitcombe, Harbor Wire",
            ("Dana Whitcombe",),
            "Harbor Wire",
        ),
        ("Written by Dana Whitcombe", ("Dana Whitcombe",), None),
    ],
)
def test_bylines_are_read_with_their_names_and_title(
    line: str, names: tuple[str, ...], title: str | None
) -> None:
    assert parse_byline(line) == Byline(names, title, line)


SENTENCES_OPENING_WITH_BY = (
    "By Tuesday, the council had voted.",
    "By March 4 the work was done",
    "By the end of the year, prices rose",
    "Bystanders Gathered Outside",
    "By Reuters",
    "Passers-by Dana and Tom",
    "By the time the sirens went off, my neighbours were on their roofs",
)


def test_sentences_that_open_with_by_are_not_bylines() -> None:
    assert [line for line in SENTENCES_OPENING_WITH_BY if parse_byline(line) is not None] == []


# --- dates ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "parts"),
    [
        ("March 4, 2026", DateParts(3, 4, 2026)),
        ("Updated 4 March 2026 10:32 GMT", DateParts(3, 4, 2026)),
        ("Tue 4 Mar 2026", DateParts(3, 4, 2026)),
        ("Wednesday, Sept. 16, 2026", DateParts(9, 16, 2026)),
        ("Published on Jan. 16, 2026 at 9:15 a.m. ET", DateParts(1, 16, 2026)),
        ("2026-03-04", DateParts(3, 4, 2026)),
        ("Sept. 3", DateParts(9, 3, None)),
        ("1st May 2025", DateParts(5, 1, 2025)),
    ],
)
def test_date_lines_are_read_as_dates(line: str, parts: DateParts) -> None:
    assert parse_date(line) == parts


@pytest.mark.parametrize(
    "line",
    ["Tuesday", "March", "In March 2026 the council met", "4 March 2026 was a good day", "2026"],
)
def test_sentences_with_dates_are_not_date_lines(line: str) -> None:
    assert parse_date(line) is None


# --- datelines -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("paragraph", "dateline"),
    [
        (
            "HARBOR CITY, March 4 - The council voted.",
            Dateline("HARBOR CITY", "March 4", None, "HARBOR CITY, March 4 -"),
        ),
        (
            "GENEVA (Reuters) \u2013 Talks resumed.",
            Dateline("GENEVA", None, "Reuters", "GENEVA (Reuters) \u2013"),
        ),
        (
            "Harbor City, Jan. 16 (AP) \u2014 The council voted.",
            Dateline("Harbor City", "Jan. 16", "AP", "Harbor City, Jan. 16 (AP) \u2014"),
        ),
        (
            "ST. LOUIS, Mo., Sept. 3 -- A storm hit.",
            Dateline("ST. LOUIS, Mo.", "Sept. 3", None, "ST. LOUIS, Mo., Sept. 3 --"),
        ),
        (
            "PORT-AU-PRINCE, Haiti \u2013 Rescuers dug.",
            Dateline("PORT-AU-PRINCE, Haiti", None, None, "PORT-AU-PRINCE, Haiti \u2013"),
        ),
        (
            "LONDON, 4 March (Reuters) - Shares fell.",
            Dateline("LONDON", "4 March", "Reuters", "LONDON, 4 March (Reuters) -"),
        ),
    ],
)
def test_datelines_are_read(paragraph: str, dateline: Dateline) -> None:
    assert parse_dateline(paragraph) == dateline


@pytest.mark.parametrize(
    "paragraph",
    [
        "The plan - at the port of origin - is meant to spot materials.",
        "Officials - at first - said nothing.",
        "NATO - the alliance - met.",
        "Chertoff said the plan would benefit both countries.",
        "2-1 - That was the score.",
    ],
)
def test_sentences_with_dashes_have_no_dateline(paragraph: str) -> None:
    assert parse_dateline(paragraph) is None


# --- whole articles ------------------------------------------------------------------------


def test_chrome_byline_date_and_dateline_are_metadata_not_paragraphs() -> None:
    article = read(
        "Skip to main content\n\nMenu\n\nSearch\n\n"
        f"{HEADLINE}\n\n"
        "By Priya Natarajan, Transport Correspondent\nUpdated 4 March 2026 10:32 GMT\n\n"
        "Share\n\nSign in\n\n"
        f"HARBOR CITY, March 4 - {BODY}\n"
    )
    assert article.headline == HEADLINE
    assert article.paragraphs == (
        "The council voted 7-2 on Tuesday to build the terminal.",
        '"This is a good day," said Mayor Ines Calder.',
        "Construction would start in September.",
    )
    metadata = article.metadata
    assert metadata.chrome == ("Skip to main content", "Menu", "Search", "Share", "Sign in")
    assert metadata.byline == Byline(
        ("Priya Natarajan",),
        "Transport Correspondent",
        "By Priya Natarajan, Transport Correspondent",
    )
    assert metadata.date_line == "Updated 4 March 2026 10:32 GMT"
    assert metadata.dateline == Dateline("HARBOR CITY", "March 4", None, "HARBOR CITY, March 4 -")
    assert metadata.dates == (DateParts(3, 4, 2026), DateParts(3, 4, None))


def test_byline_and_date_on_one_line_or_opening_the_first_block() -> None:
    one_line = read(f"{HEADLINE}\n\nBy Dana Whitcombe | March 4, 2026\n\n{BODY}")
    assert one_line.metadata.byline is not None
    assert one_line.metadata.byline.names == ("Dana Whitcombe",)
    assert one_line.metadata.date_line == "March 4, 2026"
    assert one_line.paragraph(1).startswith("The council voted 7-2")
    with_time = read(f"{HEADLINE}\n\n4 March 2026 | 10:32\n\n4 min read\n\n{BODY}")
    assert with_time.metadata.date_line == "4 March 2026"
    assert with_time.metadata.chrome == ("10:32", "4 min read")
    assert with_time.paragraph(1).startswith("The council voted 7-2")
    same_block = read(f"{HEADLINE}\nBy Dana Whitcombe\nThe council voted 7-2.\n\nMore.")
    # The headline must be a block of its own to be found; here it is not.
    assert same_block.headline is None
    opening = read(f"{HEADLINE}\n\nBy Dana Whitcombe\nThe council voted 7-2.\n\nMore.")
    assert opening.paragraphs == ("The council voted 7-2.", "More.")
    assert opening.metadata.byline is not None


def test_chrome_after_the_headline_is_only_known_navigation() -> None:
    article = read(f"{HEADLINE}\n\nShare prices fell.\n\nMenu\n\nMore.")
    assert article.paragraphs == ("Share prices fell.", "Menu", "More.")
    assert article.metadata.chrome == ()


def test_every_line_before_the_headline_is_chrome() -> None:
    article = read(f"Accessibility links\n\nWorld\nAsia\n\nBreaking News\n\n{HEADLINE}\n\n{BODY}")
    assert article.metadata.chrome == ("Accessibility links", "World", "Asia", "Breaking News")
    assert len(article.paragraphs) == 3


def test_without_the_headline_every_block_is_a_paragraph() -> None:
    article = read(f"By Dana Whitcombe\n\n{BODY}", headline="Something else")
    assert article.headline is None
    assert len(article.paragraphs) == 4


def test_the_seed_keeps_its_numbering() -> None:
    text = (SEEDS_DIR / "000_5af58b1d35c2d298.txt").read_text(encoding="utf-8")
    article = read(
        text, "US Homeland Security Chief Presses China to Repatriate 39,000 Illegal Migrants"
    )
    assert len(article.paragraphs) == 11
    assert article.paragraph(1).startswith("The head of U.S. homeland security")
    assert article.metadata.chrome == ("Accessibility links", "Breaking News")
    assert article.metadata.byline is None
    assert article.metadata.dateline is None


@pytest.mark.parametrize(
    "line",
    [
        "Menu",
        "  menu ",
        "Skip to main content",
        "Share this article",
        "Sign in \u203a",
        "4 min read",
        "Reading time: 6 minutes",
    ],
)
def test_chrome_lines(line: str) -> None:
    assert is_chrome(line)


@pytest.mark.parametrize(
    "line", ["Share prices fell", "Menu prices", "The search goes on", "4 minutes later"]
)
def test_prose_is_not_chrome(line: str) -> None:
    assert not is_chrome(line)


@settings(max_examples=300, deadline=None)
@given(st.text(), st.text(max_size=40))
def test_reading_never_raises(text: str, headline: str) -> None:
    article = read(text, headline)
    for number in range(1, len(article.paragraphs) + 1):
        assert article.paragraph(number) == article.paragraphs[number - 1]


_PIECES = st.sampled_from(
    [
        "By Dana Whitcombe",
        "By ",
        "March 4, 2026",
        "HARBOR CITY, March 4 - ",
        "(AP) ",
        "Menu",
        "\n\n",
        "\n",
        " - ",
        ", ",
        "Share",
        HEADLINE,
        "The council voted.",
        "\u2014",
    ]
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_PIECES, max_size=20).map("".join))
def test_reading_article_shaped_text_never_raises(text: str) -> None:
    article = read(text)
    assert all(paragraph for paragraph in article.paragraphs)


# --- the validator -------------------------------------------------------------------------

DIGEST = """\
title: {headline}
article: story.txt
source:
  publisher: {publisher}
  published: {published}
  byline: {byline}
  place: {place}
summary: The council approved the terminal.
summary_cite: [1]
key_points:
  - text: The council voted 7-2 to build the terminal.
    cite: [1]
quotes: []
figures:
  - value: 7-2
    label: the vote
    cite: [1]
"""

STORY = (
    f"Menu\n\n{HEADLINE}\n\nBy Priya Natarajan, Transport Correspondent\n\n"
    f"HARBOR CITY, March 4 (Harbor Wire) - {BODY}\n"
)


def check_source(tmp_path: Path, story: str = STORY, **source: str) -> list[str]:
    fields = {"publisher": "unknown", "published": "unknown", "byline": "unknown"}
    fields |= {"place": "unknown"} | source
    (tmp_path / "story.txt").write_text(story, encoding="utf-8")
    path = tmp_path / "digest.yaml"
    path.write_text(DIGEST.format(headline=HEADLINE, **fields), encoding="utf-8")
    _, problems = inspect_digest(path)
    return [f"{problem.rule}: {problem.detail}" for problem in problems]


@pytest.mark.parametrize(
    "source",
    [
        {"byline": "Priya Natarajan"},
        {"byline": "Priya Natarajan, Transport Correspondent"},
        {"byline": "By Priya Natarajan"},
        {"published": "March 4"},
        {"place": "Harbor City"},
        {"place": "HARBOR CITY"},
        {"publisher": "Harbor Wire"},
    ],
)
def test_stated_metadata_is_accepted(tmp_path: Path, source: dict[str, str]) -> None:
    assert check_source(tmp_path, **source) == []


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("byline", "Tom Hale"),
        ("byline", "Priya Natarajan, Staff Writer"),
        ("published", "March 5"),
        ("published", "March 4, 2026"),
        ("place", "Port Ellery"),
        ("publisher", "Reuters"),
    ],
)
def test_unstated_metadata_is_refused(tmp_path: Path, key: str, value: str) -> None:
    # A number the article lacks ("5", "2026") is refused by its own rule too.
    assert (
        f"unknown-metadata: the article does not state its {key} as {value!r}: write 'unknown'"
        in check_source(tmp_path, **{key: value})
    )


def test_a_date_line_states_the_year(tmp_path: Path) -> None:
    story = STORY.replace("Transport Correspondent\n", "Transport Correspondent\nMarch 4, 2026\n")
    assert check_source(tmp_path, story, published="March 4, 2026") == []
    assert check_source(tmp_path, story, published="4 March 2026") == []
    assert check_source(tmp_path, story, published="March 4") == []


def test_several_authors_may_be_named_in_part(tmp_path: Path) -> None:
    story = STORY.replace(
        "By Priya Natarajan, Transport Correspondent", "By Priya Natarajan and Tom Hale"
    )
    assert check_source(tmp_path, story, byline="Priya Natarajan and Tom Hale") == []
    assert check_source(tmp_path, story, byline="Tom Hale") == []
    assert check_source(tmp_path, story, byline="Tom Hale and Ann Lee") != []
