"""The digest's schema: pydantic models of the YAML file, strict about keys and types."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
Citation = Annotated[list[Annotated[int, Field(strict=True)]], Field(min_length=1)]
"""The paragraphs an item comes from, numbered from 1."""

UNKNOWN = "unknown"


class Item(BaseModel):
    """Every digest item forbids keys it does not know, so typos are caught, not ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class Cited(Item):
    cite: Citation


class Source(Item):
    """What is known of where the article comes from; ``unknown`` when the text does not say."""

    publisher: Text = UNKNOWN
    published: Text = UNKNOWN
    byline: Text = UNKNOWN
    place: Text = UNKNOWN
    """Where the story was filed: the place of the article's wire dateline."""
    url: Text = UNKNOWN
    note: Text | None = None


class KeyPoint(Cited):
    text: Text


class Quote(Cited):
    """A direct quote: ``text`` must occur verbatim in a cited paragraph."""

    speaker: Text
    text: Text
    context: Text | None = None


class Statement(Cited):
    """Something the article reports a party as saying, in the digest's own words."""

    speaker: Text
    text: Text


class Figure(Cited):
    """A number the story turns on: ``value`` must occur in a cited paragraph."""

    value: Text
    label: Text
    context: Text | None = None
    key: bool = False


EntityKind = Literal["person", "organisation", "place", "initiative"]


class Entity(Cited):
    """Someone or something the story names; ``name`` as the article writes it."""

    name: Text
    kind: EntityKind
    role: Text | None = None
    description: Text


class Event(Cited):
    """One step of the story, dated only in the article's own relative terms."""

    when: Text
    event: Text


class OpenQuestion(Cited):
    text: Text


class EditorQuestion(Cited):
    """A reader question the editor expects, answered in the editor's words from ``cite``."""

    question: Text
    answer: Text


LexiconEntry = Annotated[list[Text], Field(min_length=2)]
"""Words or phrases a reader may use for one thing of the story, one of them the article's."""


class DigestDocument(Item):
    """The whole digest file."""

    title: Text
    article: Text
    source: Source = Source()
    summary: Text
    summary_cite: Citation
    key_points: Annotated[list[KeyPoint], Field(min_length=1)]
    quotes: list[Quote]
    statements: list[Statement] = []
    figures: list[Figure]
    people: list[Entity] = []
    timeline: list[Event] = []
    open_questions: list[OpenQuestion] = []
    lexicon: list[LexiconEntry] = []
    """Story-specific equivalences for answering questions; never shown to readers."""
    questions: list[EditorQuestion] = []
    """Reader questions the editor expects, matched before the engine's own retrieval."""

    def entity(self, name: str) -> Entity | None:
        """The entity called ``name``, if the digest lists one."""
        return next((entity for entity in self.people if entity.name == name), None)
