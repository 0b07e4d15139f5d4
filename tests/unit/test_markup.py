"""Telegram HTML: measuring, checking, splitting and flattening."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.markup import (
    MAX_MESSAGE_LENGTH,
    problems,
    split_message,
    to_plain_text,
    utf16_length,
    visible_length,
    visible_text,
)


def test_visible_length_counts_entities_as_one_and_emoji_as_two() -> None:
    assert visible_length("<b>a &amp; b</b>") == 5
    assert visible_length("👋 hi") == 5
    assert visible_text("&lt;b&gt; &#34;x&#34; &#x41;") == '<b> "x" A'


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("<p>x</p>", "tag <p> is not one Telegram accepts"),
        ("a < b", "unescaped '<'"),
        ("a & b", "unescaped '&'"),
        ("&nbsp;x", "entity &nbsp; is not one Telegram accepts"),
        ("<b>x", "<b> is never closed"),
        ("<b><i>x</b></i>", "</b> closes nothing open"),
        ("<b> </b>", "the message has no visible text"),
        ("x" * 4097, "4097 characters, over 4096"),
        ("<a>x</a>", '<a> needs href="[^"]+"'),
        ('<span class="x">x</span>', '<span> needs class="tg-spoiler"'),
        ('<b class="x">x</b>', "<b> takes no attributes"),
        ('<code class="language-python">x</code>', "<code class=...> is only allowed inside <pre>"),
        (
            "<blockquote><blockquote>x</blockquote></blockquote>",
            "<blockquote> cannot be nested in a block",
        ),
    ],
)
def test_problems(text: str, problem: str) -> None:
    assert problems(text) == [problem]


def test_attributes_telegram_accepts() -> None:
    good = '<a href="https://example.org">x</a> <span class="tg-spoiler">s</span> <pre><code class="language-python">y</code></pre> <blockquote expandable>q</blockquote> <tg-emoji emoji-id="5368324170671202286">👍</tg-emoji>'
    assert problems(good) == []


def test_short_text_is_one_part() -> None:
    assert split_message("  <b>hi</b>\n") == ["<b>hi</b>"]


def test_split_prefers_paragraph_boundaries() -> None:
    paragraphs = [f"<b>{n}</b> " + "word " * 150 for n in range(40)]
    parts = split_message("\n\n".join(p.strip() for p in paragraphs))
    assert len(parts) > 1
    for part in parts:
        assert problems(part) == []
        assert part.startswith("<b>")  # every part starts at a paragraph
    assert "".join(visible_text(p) for p in parts).count("word") == 40 * 150


def test_split_inside_an_element_closes_and_reopens_it() -> None:
    text = "<blockquote>" + "long line of words " * 400 + "</blockquote>"
    parts = split_message(text, 1000)
    assert len(parts) >= 7
    for part in parts:
        assert part.startswith("<blockquote>") and part.endswith("</blockquote>")
        assert problems(part) == []
        assert visible_length(part) <= 1000


def test_split_never_cuts_an_entity_or_a_surrogate_pair() -> None:
    text = ("&amp;" * 3000) + ("😀" * 3000)
    parts = split_message(text)
    assert all(problems(part) == [] for part in parts)
    assert "".join(visible_text(p) for p in parts) == "&" * 3000 + "😀" * 3000


_html_pieces = st.lists(
    st.one_of(
        st.text(
            alphabet=st.characters(exclude_characters="<&", exclude_categories=["Cs"]),
            min_size=1,
            max_size=300,
        ),
        st.sampled_from(["\n\n", "\n", " ", "&amp;", "&lt;", "😀"]),
        st.builds(lambda t: f"<b>{t}</b>", st.text(alphabet="abc xyz\n", min_size=1, max_size=500)),
        st.builds(
            lambda t: f"<blockquote><i>{t}</i></blockquote>",
            st.text(alphabet="lorem ipsum\n", min_size=1, max_size=3000),
        ),
    ),
    max_size=40,
)


@settings(max_examples=150, deadline=None)
@given(_html_pieces, st.integers(min_value=50, max_value=MAX_MESSAGE_LENGTH))
def test_split_parts_fit_are_valid_and_lose_nothing(pieces: list[str], limit: int) -> None:
    text = "".join(pieces)
    if not visible_text(text).strip():
        return
    parts = split_message(text, limit)
    for part in parts:
        assert visible_length(part) <= limit
        assert problems(part) == []
    joined = "".join(visible_text(part) for part in parts)
    assert "".join(joined.split()) == "".join(visible_text(text).split())


def test_to_plain_text() -> None:
    html = '<b>Bold</b> &amp; <a href="https://example.org">link</a>\n<blockquote>one\ntwo</blockquote>'
    assert to_plain_text(html) == "Bold & link <https://example.org>\n│ one\n│ two"
    assert to_plain_text("<b>x</b>", colour=True) == "\x1b[1mx\x1b[0m"


def test_utf16_length() -> None:
    assert utf16_length("a😀") == 3
