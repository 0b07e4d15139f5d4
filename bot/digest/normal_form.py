"""Text in the form every verbatim check compares: white space folded, quote marks plain.

Its own module because the article, its metadata reader, the grounding checks and the
answer engine all compare text in this one form.
"""

from __future__ import annotations

import re

_SPACES = re.compile(r"\s+")
# Typographic quote marks and the odd dash that wire copy and hand-typed YAML disagree on.
_TYPOGRAPHIC = str.maketrans(
    {"\u201c": '"', "\u201d": '"', "\u201e": '"', "\u2018": "'", "\u2019": "'", "\u00a0": " "}
)


def normalise(text: str) -> str:
    """Fold white space and typographic quote marks so that verbatim means verbatim in words."""
    return _SPACES.sub(" ", text.translate(_TYPOGRAPHIC)).strip()
