"""Free-text questions answered from the article: lexical retrieval, Telegram-free.

:mod:`~bot.answers.language` holds the generic English the engine needs,
:mod:`~bot.answers.text` turns text into terms (Snowball stems, a digest's lexicon) and
answer types, sentences, social verdicts and other-language questions,
:mod:`~bot.answers.question` types a yes/no question, :mod:`~bot.answers.scoring` is BM25,
:mod:`~bot.answers.engine` answers a question from one digest and
:mod:`~bot.answers.answer` is what it returns.
"""

from bot.answers.answer import Answer, AnswerKind, Passage
from bot.answers.engine import AnswerEngine
from bot.answers.scoring import BM25
from bot.answers.text import Lexicon, fold, social_kind, split_sentences, terms

__all__ = [
    "BM25",
    "Answer",
    "AnswerEngine",
    "AnswerKind",
    "Lexicon",
    "Passage",
    "fold",
    "social_kind",
    "split_sentences",
    "terms",
]
