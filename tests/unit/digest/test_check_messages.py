"""`check` messages that help fix the file: each names the line of the mistake and says, in
plain words, what to write instead."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot import SEEDS_DIR
from bot.digest import RULES
from bot.digest.closest import closest_passage, describe
from tests import REPO_ROOT
from tests.conftest import EditDigest
from tests.processes import run_bot
from tests.unit.digest.broken import FIRST_QUOTE, problem_lines

README = REPO_ROOT / "README.md"


def line_of(path: Path, text: str) -> int:
    content = path.read_text(encoding="utf-8")
    assert content.count(text) == 1, text
    return content[: content.index(text)].count("\n") + 1


def write_digest(seeds_copy: Path, text: str) -> Path:
    """A digest beside the seed article, holding ``text``."""
    seeds_copy.write_text(text, encoding="utf-8")
    return seeds_copy


# A misquote: the closest passage and the words that differ.


def test_a_misquote_shows_the_closest_passage_and_the_changed_words(
    edit_digest: EditDigest,
) -> None:
    path, _ = edit_digest("      more quickly\n", "      quicker\n")
    [problem] = problem_lines(path)
    quote_line = line_of(path, "    text: >-\n      The more")
    assert problem.startswith(f"{path}:{quote_line}:")
    assert problem.endswith(
        "is not verbatim in paragraph 10; "
        'closest in ¶ 10: "…to move cargo more quickly…" — differs at "quicker" → "more quickly"'
    )


def test_a_misquote_with_a_word_too_many_names_it(edit_digest: EditDigest) -> None:
    path, _ = edit_digest(
        "      If we start to show progress", "      If we start to show real progress"
    )
    [problem] = problem_lines(path)
    assert problem.endswith(
        'closest in ¶ 5: "…start to show progress in the short…" — differs at "real" → (nothing)'
    )


def test_a_misquote_cited_to_the_wrong_paragraph_is_found_where_it_is(
    edit_digest: EditDigest,
) -> None:
    path, _ = edit_digest(
        "      they will be going back home\n    context: On why speeding up the repatriations"
        " matters.\n    cite: [5]",
        "      they will go back home\n    context: On why speeding up the repatriations"
        " matters.\n    cite: [1]",
    )
    [problem] = problem_lines(path)
    assert problem.endswith(
        'closest in ¶ 5 (not cited): "…U.S. they will be going back home…" — '
        'differs at "go" → "be going"'
    )


def test_an_invented_quote_says_nothing_comes_close(edit_digest: EditDigest) -> None:
    path, _ = edit_digest(
        FIRST_QUOTE, "      Beijing welcomed the proposal warmly on every count.\n"
    )
    [problem] = problem_lines(path)
    assert problem.endswith(
        "is not verbatim in paragraph 5; no passage of paragraph 5 comes close: "
        "check the text and the cite"
    )


@pytest.mark.parametrize(
    ("quote", "differences"),
    [
        ("the quick brown fox jumps", '"quick" → "slow"'),
        ("the slow brown old fox jumps", '"old" → (nothing)'),
        ("the slow brown jumps over the", '(nothing) → "fox"'),
    ],
)
def test_closest_passage_names_each_kind_of_difference(quote: str, differences: str) -> None:
    paragraph = "Yesterday the slow brown fox jumps over the lazy dog near the river bank."
    passage = closest_passage(quote, [(3, paragraph)])
    assert passage is not None
    assert passage.paragraph == 3
    assert describe(passage, [3]).endswith(f"differs at {differences}")


# A YAML error: the line where the mistake is.

SEED_TEXT = (SEEDS_DIR / "digest.yaml").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("old", "new", "mistake", "detail"),
    [
        (
            "summary_cite: [1, 2, 3, 7, 8]",
            "summary_cite: [1, 2, 3, 7, 8",
            "summary_cite: [1, 2, 3, 7, 8\n",
            "the `[` opened here is not closed by a `]`",
        ),
        (
            "  publisher: unknown",
            '  publisher: "unknown',
            '  publisher: "unknown',
            "a quoted value starts here and its closing quote mark is missing",
        ),
        (
            "  byline: unknown",
            "  byline unknown",
            "  byline unknown",
            "this line has no `:`: a key and its value are written `key: value`",
        ),
        (
            "  url: unknown",
            "\turl: unknown",
            "\turl: unknown",
            "a tab is used for indentation: YAML indents with spaces only",
        ),
        (
            "    key: true",
            "    key: true\n    label: about: 39,000",
            "    label: about: 39,000",
            'a value with `: ` in it must be quoted, like `key: "a: b"`',
        ),
        (
            "  byline: unknown",
            "   byline: unknown",
            "   byline: unknown",
            "this line reads as part of the value above it, which cannot hold `: `: line the "
            "key up with the keys above, or quote the value",
        ),
        (
            "    context: On why speeding",
            "   context: On why speeding",
            "   context: On why speeding",
            "this line is indented differently from the lines above it: line it up",
        ),
        (
            "  - speaker: Chinese foreign ministry spokesman",
            "  - speaker: 'Chinese foreign ministry spokesman",
            "  - speaker: 'Chinese foreign ministry spokesman",
            "a quoted value starts here and runs on over lines: is its closing quote missing?",
        ),
    ],
    ids=[
        "unclosed-bracket",
        "unclosed-quote",
        "missing-colon",
        "tab",
        "colon-in-value",
        "indented-too-far",
        "indented-too-little",
        "unclosed-quote-closed-later",
    ],
)
def test_a_yaml_error_names_the_line_of_the_mistake(
    edit_digest: EditDigest, old: str, new: str, mistake: str, detail: str
) -> None:
    path, _ = edit_digest(old, new)
    assert problem_lines(path) == [f"{path}:{line_of(path, mistake)}: yaml-syntax: {detail}"]


def test_an_unclosed_quote_closed_by_a_later_one_names_the_line_it_opens(
    seeds_copy: Path,
) -> None:
    # The next quote mark closes the value, and PyYAML fails on the line after that.
    path = write_digest(seeds_copy, 'title: "US Homeland\narticle: a.txt\nsummary: "s"\n')
    assert problem_lines(path) == [
        f"{path}:1: yaml-syntax: a quoted value starts here and runs on over lines: "
        "is its closing quote missing?"
    ]


# Schema errors in plain words.


def test_a_misspelled_nested_key_is_one_problem_that_suggests_the_key(
    edit_digest: EditDigest,
) -> None:
    path, line = edit_digest(
        "    context: Continuing the same remarks.\n    cite: [5]",
        "    context: Continuing the same remarks.\n    cite_: [5]",
    )
    assert problem_lines(path) == [
        f"{path}:{line + 1}: unknown-key: unknown key `cite_` in quotes[1] — did you mean `cite`?"
    ]


def test_an_unknown_key_unlike_any_lists_the_keys_there(edit_digest: EditDigest) -> None:
    path, line = edit_digest("  byline: unknown", "  byline: unknown\n  mood: calm")
    assert problem_lines(path) == [
        f"{path}:{line + 1}: unknown-key: unknown key `mood` in source: "
        "the keys here are publisher, published, byline, place, url, note"
    ]


def test_a_missing_key_is_named(edit_digest: EditDigest) -> None:
    path, line = edit_digest(
        "  - speaker: Michael Chertoff\n    text: >-\n      If we start",
        "  - text: >-\n      If we start",
    )
    assert problem_lines(path) == [
        f"{path}:{line}: missing-key: missing key `speaker` in quotes[0]"
    ]


@pytest.mark.parametrize(
    ("old", "new", "detail"),
    [
        (
            "    cite: [11]\n  - name: Singapore",
            "    cite: 11\n  - name: Singapore",
            "wrong-type: `people[9].cite` should be a list of paragraph numbers, like [3]: not `11`",
        ),
        (
            "summary_cite: [1, 2, 3, 7, 8]",
            "summary_cite: []",
            "invalid-value: `summary_cite` is empty: cite at least one paragraph, like [3]",
        ),
        (
            "  publisher: unknown",
            "  publisher: 2006",
            "wrong-type: `source.publisher` should be text, not a number (2006): "
            "put it in quotes to make it text",
        ),
        (
            "  - name: Singapore\n    kind: place",
            "  - name: Singapore\n    kind: city",
            "invalid-value: `people[10].kind` should be one of person, organisation, place or "
            "initiative, not `city`",
        ),
        (
            "  - speaker: Chinese foreign ministry spokesman\n"
            "    text: Beijing will work with the United States to resolve the matter.\n"
            "    cite: [6]",
            "  - Chinese foreign ministry spokesman",
            "wrong-type: `statements[3]` should be a mapping of keys (like `speaker: …`), not text",
        ),
    ],
    ids=["cite-not-a-list", "cite-empty", "number-for-text", "kind", "item-not-a-mapping"],
)
def test_wrong_values_are_explained_in_plain_words(
    edit_digest: EditDigest, old: str, new: str, detail: str
) -> None:
    path, _ = edit_digest(old, new)
    [problem] = problem_lines(path)
    assert problem.split(": ", 1)[1] == detail
    for pydantic_words in ("Input should", "Field required", "Extra inputs", "instance of"):
        assert pydantic_words not in problem


# The whole file.


def test_an_empty_file_says_it_is_empty(seeds_copy: Path) -> None:
    path = write_digest(seeds_copy, "\n")
    assert problem_lines(path) == [
        f"{path}:1: empty-file: the file is empty: a digest is a mapping of keys, "
        "starting with `title:` and `article:`"
    ]


def test_a_file_of_comments_has_no_content(seeds_copy: Path) -> None:
    path = write_digest(seeds_copy, "# title: to do\n")
    [problem] = problem_lines(path)
    assert problem.startswith(f"{path}:1: empty-file: the file has no content, only comments")


def test_a_list_is_not_a_digest(seeds_copy: Path) -> None:
    path = write_digest(seeds_copy, "# a digest\n- title: x\n- article: y\n")
    assert problem_lines(path) == [
        f"{path}:2: not-a-mapping: expected a mapping of keys (`title: …`, `article: …`, one "
        "per line), found a list"
    ]


# Every rule is documented, and --help is plain text.


def readme_rules() -> set[str]:
    text = README.read_text(encoding="utf-8")
    table = text[text.index("## Editing the digest") :]
    table = table[table.index("| rule |") : table.index("\n\n", table.index("| rule |"))]
    rows = [row.split("|")[1] for row in table.splitlines()[2:]]
    return {name for row in rows for name in re.findall(r"`([a-z-]+)`", row)}


def test_every_rule_check_can_print_is_in_the_readme_table() -> None:
    assert "unreadable" in RULES
    assert readme_rules() == set(RULES)


def test_every_grounding_rule_is_in_the_registry() -> None:
    # The grounding module documents its rules in its docstring; that list too must match.
    import bot.digest.grounding as grounding

    documented = set(re.findall(r"^``([a-z-]+)``", grounding.__doc__ or "", re.MULTILINE))
    assert documented
    assert documented <= set(RULES)


@pytest.mark.parametrize("arguments", [("--help",), ("check", "--help")])
def test_help_is_plain_text(arguments: tuple[str, ...], tmp_path: Path) -> None:
    result = run_bot(*arguments, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "``" not in result.stdout
    assert ":func:" not in result.stdout
    if "check" in arguments:
        assert "file:line: rule: detail" in result.stdout


def test_check_prints_the_helpful_line_through_the_process(
    edit_digest: EditDigest, tmp_path: Path
) -> None:
    path, _ = edit_digest(
        "    context: Continuing the same remarks.\n    cite: [5]",
        "    context: Continuing the same remarks.\n    cite_: [5]",
    )
    result = run_bot("check", str(path), cwd=path.parent)
    assert result.returncode == 1
    assert result.stdout.splitlines() == [
        f"{path.name}:{line_of(path, '    cite_: [5]')}: unknown-key: unknown key `cite_` in "
        "quotes[1] — did you mean `cite`?"
    ]
