"""Evaluation questions (tests/data/questions.yaml, and each story's questions.yaml): read
them, and check their form."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from bot.answers import Answer, AnswerEngine


def read_questions(path: Path) -> list[dict[str, Any]]:
    """The ``questions`` list of the YAML file at ``path``."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    questions: list[dict[str, Any]] = data["questions"]
    return questions


def answerable(question: dict[str, Any]) -> bool:
    return bool(question.get("answerable", True))


def check_questions(
    questions: list[dict[str, Any]], paragraphs: int, *, answerable_min: int, unanswerable_min: int
) -> None:
    """Each question listed once (whatever its case), with paragraphs of an article of
    ``paragraphs`` exactly when it is answerable; enough of each kind."""
    texts = [question["question"].casefold() for question in questions]
    assert len(texts) == len(set(texts)), "a question is listed twice"
    for question in questions:
        assert set(question) <= {"question", "paragraphs", "answerable"}, question
        assert isinstance(question["question"], str)
        assert question["question"].strip()
        if answerable(question):
            assert question["paragraphs"], question
            assert all(1 <= n <= paragraphs for n in question["paragraphs"]), question
        else:
            assert question["answerable"] is False
            assert "paragraphs" not in question, question
    assert sum(map(answerable, questions)) >= answerable_min
    assert sum(not answerable(q) for q in questions) >= unanswerable_min


@dataclass(frozen=True)
class Measurement:
    """How the answer engine does on a list of questions."""

    right: int
    """Answerable questions answered from one of their paragraphs (top-1)."""
    answerable: int
    honest: int
    """Unanswerable questions given the honest "not in the article" reply."""
    unanswerable: int
    misses: tuple[str, ...]

    @property
    def accuracy(self) -> float:
        return self.right / self.answerable if self.answerable else 0.0

    def report(self) -> str:
        return (
            f"accuracy {self.right}/{self.answerable}, "
            f"unanswerable {self.honest}/{self.unanswerable}\n" + "\n".join(self.misses)
        )


def describe(answer: Answer) -> str:
    """What the engine answered, for a miss's line."""
    if answer.figure is not None:
        figure = answer.figure
        return f"figure {figure.value!r} cite {figure.cite} (score {answer.score:.2f})"
    if answer.quote is not None:
        quote = answer.quote
        return f"quote {quote.text[:50]!r} cite {quote.cite} (score {answer.score:.2f})"
    if answer.sentences:
        first = answer.sentences[0]
        return f"{answer.kind} p{first.paragraph} {first.text[:60]!r} (score {answer.score:.2f})"
    return f"{answer.kind} (score {answer.score:.2f})"


def evaluate(engine: AnswerEngine, questions: list[dict[str, Any]]) -> Measurement:
    """Top-1 accuracy and honest replies of ``engine`` on ``questions``."""
    right = honest = 0
    misses: list[str] = []
    for question in questions:
        text = question["question"]
        answer = engine.answer(text)
        if answerable(question):
            if answer.paragraph in question["paragraphs"]:
                right += 1
            else:
                misses.append(
                    f"  {text!r}: expected paragraph {question['paragraphs']}, "
                    f"got {describe(answer)}"
                )
        elif answer.kind == "not_in_article":
            honest += 1
        else:
            misses.append(f"  {text!r}: expected not_in_article, got {describe(answer)}")
    count = sum(map(answerable, questions))
    return Measurement(right, count, honest, len(questions) - count, tuple(misses))
