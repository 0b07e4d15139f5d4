"""The digest validator: the shipped digest passes; each kind of broken digest is reported
as ``file:line: rule: detail`` at the line that is wrong."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot import SEEDS_DIR
from bot.digest import Digest, DigestError, inspect_digest, load_digest
from bot.digest.article import Article, blocks, normalise
from bot.digest.grounding import canonical_number, numbers_in
from tests.conftest import EditDigest
from tests.unit.digest.broken import FIRST_QUOTE, problem_lines


def test_shipped_digest_is_grounded(digest: Digest) -> None:
    assert digest.article.headline == digest.document.title
    assert len(digest.article.paragraphs) == 11
    assert digest.article.paragraph(1).startswith("The head of U.S. homeland security")
    assert digest.article.paragraph(11).endswith("Singapore, and Japan.")


def test_shipped_digest_marks_metadata_unknown(digest: Digest) -> None:
    source = digest.document.source
    assert (source.publisher, source.published, source.byline) == ("unknown",) * 3


def test_shipped_digest_has_the_three_quotes_by_chertoff(digest: Digest) -> None:
    quotes = digest.document.quotes
    assert [quote.speaker for quote in quotes] == ["Michael Chertoff"] * 3
    assert [quote.cite for quote in quotes] == [[5], [5], [10]]
    # The third is cued only by "he added" in paragraph 10.
    assert "he added" in digest.article.paragraph(10)


def test_shipped_digest_figures(digest: Digest) -> None:
    values = [figure.value for figure in digest.document.figures]
    assert values == ["about 39,000", "thousands"]
    assert [figure.key for figure in digest.document.figures] == [True, False]


def test_article_paragraphs_skip_boilerplate_before_headline() -> None:
    text = (SEEDS_DIR / "000_5af58b1d35c2d298.txt").read_text(encoding="utf-8")
    article = Article.parse(
        Path("a.txt"),
        text,
        "US Homeland Security Chief Presses China to Repatriate 39,000 Illegal Migrants",
    )
    assert "Breaking News" not in article.paragraphs
    assert blocks(text)[:2] == ["Accessibility links", "Breaking News"]


def test_normalise_folds_typographic_quotes_and_space() -> None:
    assert normalise("\u201cgoing\u00a0 back\n home\u2019s\u201d") == '"going back home\'s"'


@pytest.mark.parametrize(
    ("token", "canonical"),
    [("39,000", "39000"), ("39000", "39000"), ("3.5", "3.5"), ("1,234,567", "1234567")],
)
def test_canonical_number(token: str, canonical: str) -> None:
    assert canonical_number(token) == canonical


def test_numbers_in_text() -> None:
    assert numbers_in("about 39,000 migrants, 12 ships and 39000 more.") == {"39000", "12"}


# Each broken digest: (old text, new text, the problem expected at the edited line).
BROKEN = {
    "unknown-key": (
        "    context: On why speeding",
        "    contxt: On why speeding",
        "unknown-key: unknown key `contxt` in quotes[0] — did you mean `context`?",
    ),
    "wrong-type": (
        "    key: true",
        "    key: maybe",
        "wrong-type: `figures[0].key` should be true or false, not `maybe`",
    ),
    "cite-wrong-type": (
        "summary_cite: [1, 2, 3, 7, 8]",
        "summary_cite: [1, two]",
        "wrong-type: `summary_cite` should be a list of paragraph numbers, like [3]: `two` is not a paragraph number",
    ),
    "quote-not-verbatim": (
        "      they will be going back home\n",
        "      they will go back home\n",
        "quote-not-verbatim: 'If we start to show progress in the short term, one of the …' is not verbatim in paragraph 5; "
        'closest in ¶ 5: "…U.S. they will be going back home…" — differs at "go" → "be going"',
    ),
    "quote-wrong-paragraph": (
        "      more quickly\n    context: On how the Megaports plan would benefit both countries.\n    cite: [10]",
        "      more quickly\n    context: On how the Megaports plan would benefit both countries.\n    cite: [9]",
        "quote-wrong-paragraph: the quote is in paragraph 10, not 9",
    ),
    "figure-not-in-paragraph": (
        "  - value: thousands\n",
        "  - value: tens of thousands\n",
        "figure-not-in-paragraph: 'tens of thousands' does not occur in paragraph 4",
    ),
    "number-not-in-article": (
        "  - text: When, and on what terms",
        "  - text: By 2007, when, and on what terms",
        "number-not-in-article: 2007 is not a number the article gives",
    ),
    "paragraph-out-of-range": (
        "    description: An earlier stop on the trip through Asia.\n    cite: [11]\n  - name: Singapore",
        "    description: An earlier stop on the trip through Asia.\n    cite: [12]\n  - name: Singapore",
        "paragraph-out-of-range: paragraph 12 does not exist: the article has paragraphs 1 to 11",
    ),
    "invented-date": (
        "    event: He capped the visit",
        "    event: In March he capped the visit",
        "invented-date: the article never mentions March",
    ),
    "unknown-metadata": (
        "  publisher: unknown",
        "  publisher: Voice of America",
        "unknown-metadata: the article does not state its publisher as 'Voice of America': write 'unknown'",
    ),
    "name-not-in-paragraph": (
        "  - name: Hong Kong",
        "  - name: Macau",
        "name-not-in-paragraph: 'Macau' does not occur in paragraph 11",
    ),
    "role-not-in-article": (
        "    role: U.S. Homeland Security Chief",
        "    role: Attorney General",
        "role-not-in-article: the article never calls anyone 'Attorney General'",
    ),
    "unknown-speaker": (
        "  - speaker: Chinese foreign ministry spokesman\n",
        "  - speaker: Wang Yi\n",
        "unknown-speaker: 'Wang Yi' is not listed under people",
    ),
    "when-not-in-paragraph": (
        "  - when: this week",
        "  - when: last month",
        "when-not-in-paragraph: 'last month' is not how paragraph 1 puts the time",
    ),
    "title-not-headline": (
        "title: US Homeland Security Chief Presses China",
        "title: US Security Chief Presses China",
        "title-not-headline: the title 'US Security Chief Presses China to Repatriate 39,000 Illegal Migrants' is not a line of the article, so paragraphs cannot be numbered: copy the headline exactly",
    ),
    "lexicon-not-in-article": (
        "  - [meet, meeting]",
        "  - [ferry, boat, vessel]",
        "lexicon-not-in-article: none of 'ferry', 'boat', 'vessel' occurs in the article: an entry must include the article's own word",
    ),
    "lexicon-name-not-in-article": (
        "  - [China, Beijing, Chinese]",
        "  - [China, Beijing, Chinese, PRC]",
        "lexicon-name-not-in-article: the article never writes 'PRC'; a name must be written as the article writes it, a common word in lower case",
    ),
    "lexicon-twice": (
        "  - [meet, meeting]",
        "  - [meet, meeting, deal]",
        "lexicon-twice: 'deal' is listed already (entry 1): merge the entries",
    ),
    "lexicon-entry-too-short": (
        "  - [meet, meeting]",
        "  - [meeting]",
        "invalid-value: `lexicon[31]` needs at least 2 items",
    ),
    "duplicate-key": (
        "  byline: unknown",
        "  byline: unknown\n  byline:  unknown",
        "duplicate-key: source.byline is given twice",
    ),
}


# Where the problem is expected when it is not the first edited line: a value's line is
# where its key stands (a folded block starts there), a duplicate is the second key.
POINTS_AT = {
    "quote-not-verbatim": "    text: >-\n      If we start",
    "quote-wrong-paragraph": "    cite: [9]",
    "paragraph-out-of-range": "    cite: [12]",
    "duplicate-key": "  byline:  unknown",
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_broken_digest_reports_rule_at_line(case: str, edit_digest: EditDigest) -> None:
    old, new, expected = BROKEN[case]
    path, line = edit_digest(old, new)
    if case in POINTS_AT:
        text = path.read_text(encoding="utf-8")
        line = text[: text.index(POINTS_AT[case])].count("\n") + 1
    assert problem_lines(path) == [f"{path}:{line}: {expected}"]


def test_yaml_syntax_error_names_its_line(edit_digest: EditDigest) -> None:
    path, line = edit_digest("summary_cite: [1, 2, 3, 7, 8]", "summary_cite: [1, 2, 3, 7, 8")
    [problem] = problem_lines(path)
    assert problem.startswith(f"{path}:")
    reported = int(problem.split(":")[1])
    assert line <= reported <= line + 2
    assert ": yaml-syntax: " in problem


def test_missing_key_is_reported(edit_digest: EditDigest) -> None:
    path, _ = edit_digest("summary_cite: [1, 2, 3, 7, 8]\n", "")
    assert problem_lines(path) == [f"{path}:7: missing-key: missing key `summary_cite`"]


def test_several_problems_are_all_reported_in_line_order(edit_digest: EditDigest) -> None:
    edit_digest("  publisher: unknown", "  publisher: Reuters")
    path, _ = edit_digest("  - value: thousands\n", "  - value: millions\n")
    lines = problem_lines(path)
    assert [line.split(": ")[1] for line in lines] == [
        "unknown-metadata",
        "figure-not-in-paragraph",
    ]
    assert int(lines[0].split(":")[1]) < int(lines[1].split(":")[1])


def test_summary_over_sixty_words(edit_digest: EditDigest, digest: Digest) -> None:
    words = len(digest.document.summary.split()) + 30
    path, line = edit_digest("summary: >-\n", "summary: >-\n  " + "more words here " * 10 + "\n")
    assert problem_lines(path) == [f"{path}:{line}: summary-too-long: {words} words; keep it to 60"]


def test_article_missing(edit_digest: EditDigest) -> None:
    path, line = edit_digest("article: 000_5af58b1d35c2d298.txt", "article: nowhere.txt")
    assert problem_lines(path) == [
        f"{path}:{line}: article-missing: nowhere.txt: No such file or directory"
    ]


def test_unreadable_and_non_utf8_and_empty_files(tmp_path: Path) -> None:
    missing = tmp_path / "missing.yaml"
    assert problem_lines(missing) == [f"{missing}:1: unreadable: No such file or directory"]
    latin = tmp_path / "latin.yaml"
    latin.write_bytes(b"title: caf\xe9\n")
    assert problem_lines(latin) == [f"{latin}:1: encoding: not UTF-8 (invalid continuation byte)"]
    empty = tmp_path / "empty.yaml"
    empty.write_text("", encoding="utf-8")
    assert problem_lines(empty) == [
        f"{empty}:1: empty-file: the file is empty: a digest is a mapping of keys, "
        "starting with `title:` and `article:`"
    ]


def test_load_digest_raises_with_every_problem(edit_digest: EditDigest) -> None:
    path, _ = edit_digest("  publisher: unknown", "  publisher: Reuters")
    with pytest.raises(DigestError) as caught:
        load_digest(path)
    assert [problem.rule for problem in caught.value.problems] == ["unknown-metadata"]
    assert str(caught.value).startswith(f"{path}:")


def test_fingerprint_changes_with_the_digest(edit_digest: EditDigest, digest: Digest) -> None:
    path, _ = edit_digest(
        "    context: Continuing the same remarks.", "    context: Still speaking."
    )
    assert load_digest(path).fingerprint != digest.fingerprint


def test_a_quote_across_the_narration_is_not_a_quote(edit_digest: EditDigest) -> None:
    path, line = edit_digest(
        "      they will be going back home\n",
        '      they will be going back home," said Chertoff. "They will not\n',
    )
    text = path.read_text(encoding="utf-8")
    line = text[: text.index("    text: >-\n      If we start")].count("\n") + 1
    [problem] = problem_lines(path)
    assert problem.startswith(f"{path}:{line}: quote-not-quoted: 'If we start")
    assert problem.endswith(
        "is in paragraph 5 but not inside one pair of its quotation marks: it runs across "
        '"said Chertoff.", which is outside them'
    )


def test_a_one_word_quote_is_refused(edit_digest: EditDigest) -> None:
    path, line = edit_digest("    text: >-\n" + FIRST_QUOTE, "    text: now\n")
    assert problem_lines(path) == [f"{path}:{line}: quote-too-short: 'now' has fewer than 3 words"]


def test_an_invented_name_in_prose_is_refused(edit_digest: EditDigest) -> None:
    path, line = edit_digest(
        "    context: Continuing the same remarks.",
        "    context: Reuters reports that Secretary Condoleezza Rice agreed.",
    )
    assert problem_lines(path) == [
        f"{path}:{line}: name-not-in-article: the article never names 'Condoleezza'",
        f"{path}:{line}: name-not-in-article: the article never names 'Rice'",
        f"{path}:{line}: name-not-in-article: the article never names 'Secretary'",
    ]


@pytest.mark.parametrize(("key", "value"), [("publisher", "China"), ("published", "this week")])
def test_metadata_must_be_stated_as_such_not_merely_occur(
    edit_digest: EditDigest, key: str, value: str
) -> None:
    path, line = edit_digest(f"  {key}: unknown", f"  {key}: {value}")
    assert problem_lines(path) == [
        f"{path}:{line}: unknown-metadata: the article does not state its {key} as {value!r}: write 'unknown'"
    ]


def test_metadata_stated_on_a_line_of_its_own_is_accepted(seeds_copy: Path) -> None:
    article = seeds_copy.parent / "000_5af58b1d35c2d298.txt"
    article.write_text(
        article.read_text(encoding="utf-8") + "\n\nBy Jane Reporter\n", encoding="utf-8"
    )
    text = seeds_copy.read_text(encoding="utf-8").replace(
        "  byline: unknown", "  byline: Jane Reporter"
    )
    seeds_copy.write_text(text, encoding="utf-8")
    digest, problems = inspect_digest(seeds_copy)
    assert problems == []
    assert digest is not None
    assert digest.document.source.byline == "Jane Reporter"


def test_a_lexicon_entry_needs_only_one_word_of_the_article(edit_digest: EditDigest) -> None:
    # A reader's word beside the article's, and an inflection of the article's word.
    path, _ = edit_digest(
        "  - [meet, meeting]", "  - [meeting, get together]\n  - [ministry, departments]"
    )
    digest, problems = inspect_digest(path)
    assert problems == []
    assert digest is not None
    assert digest.document.lexicon[-1] == ["ministry", "departments"]


def test_the_lexicon_is_optional(seeds_copy: Path) -> None:
    text = seeds_copy.read_text(encoding="utf-8")
    seeds_copy.write_text(text[: text.index("\nlexicon:")] + "\n", encoding="utf-8")
    assert load_digest(seeds_copy).document.lexicon == []
