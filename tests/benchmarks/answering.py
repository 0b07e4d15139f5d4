"""Answering: the answer engine's time per question, in this process, no Telegram.

Every evaluation question (tests/data/questions.yaml for the seed, and each story's
questions.yaml in tests/data/stories) is answered by an engine built once per digest; each
question is timed on its own (``time.perf_counter``) over ``repeats`` rounds. The median and
the 99th percentile are over every timing, so a slow question shows in the tail however many
fast ones there are. The budget is :data:`P99_BUDGET`.
"""

from __future__ import annotations

import time
from pathlib import Path

import yaml

from bot import SEEDS_DIR
from bot.answers import AnswerEngine
from bot.digest import load_digest
from tests.benchmarks.figures import AnswerTimes
from tests.benchmarks.stats import median

DATA = Path(__file__).resolve().parent.parent / "data"
P99_BUDGET = 0.005
"""Seconds: the engine's p99 per question (issue 12)."""


def evaluation_sets() -> list[tuple[Path, list[str]]]:
    """Each evaluation digest with its questions' texts: the seed's, then every story's."""
    sets = [(SEEDS_DIR / "digest.yaml", _questions(DATA / "questions.yaml"))]
    for story in sorted(path for path in (DATA / "stories").iterdir() if path.is_dir()):
        sets.append((story / "digest.yaml", _questions(story / "questions.yaml")))
    return sets


def _questions(path: Path) -> list[str]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return [str(question["question"]) for question in data["questions"]]


def percentile(values: list[float], share: float) -> float:
    """The nearest-rank percentile of ``values`` (``share`` in 0..1)."""
    ordered = sorted(values)
    rank = max(1, round(share * len(ordered) + 0.5))
    return ordered[min(rank, len(ordered)) - 1]


def measure_answering(repeats: int) -> AnswerTimes:
    """Time every evaluation question ``repeats`` times (after one untimed warm-up round)."""
    timings: list[float] = []
    count = 0
    for digest_path, questions in evaluation_sets():
        engine = AnswerEngine(load_digest(digest_path))
        count += len(questions)
        for question in questions:  # warm-up: caches of the stemmer and the regexes
            engine.answer(question)
        for _ in range(repeats):
            for question in questions:
                began = time.perf_counter()
                engine.answer(question)
                timings.append(time.perf_counter() - began)
    return AnswerTimes(count, len(timings), median(timings), percentile(timings, 0.99))
