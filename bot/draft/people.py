"""Who and what the article names: people (with the role the article gives them),
organisations, places and initiatives, from runs of capitalised words.

No named-entity model: a run's kind comes from the words around it (a role or title before
a name, a speech verb after it, "in" before a place) and from short word lists. A person
named once in full and later by surname is one person; the surname resolves to the full
name everywhere else in the draft.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from bot.digest.article import parse_dateline
from bot.draft.lexicon import (
    CALENDAR,
    DEMONYM_ENDINGS,
    FUNCTION_WORDS,
    INITIATIVE_WORDS,
    ORG_WORDS,
    PLACE_PREFIXES,
    PLACE_PREPOSITIONS,
    PLACE_WORDS,
    PLACES,
    ROLE_WORDS,
    SPEECH_VERBS,
    TITLES,
)
from bot.draft.text import ReadArticle

_CAPITALISED = (
    r"(?:[A-Z]\.){2,}|(?:Mr|Mrs|Ms|Dr|Sen|Rep|Gov|Gen|Col|Capt|Lt|Sgt|Prof|Rev|St|Jr|Sr)\."
    r"|[A-Z][\w'\u2019-]*"
)
_CONNECTOR = r"(?:of|de|da|del|della|di|du|van|von|der|den|la|le|al|bin|ibn)"
_RUN = re.compile(rf"(?<![\w'])(?:{_CAPITALISED})(?:[ ](?:{_CONNECTOR}[ ])?(?:{_CAPITALISED}))*")
_POSSESSIVE = re.compile(r"['\u2019]s?$")
_WORD = re.compile(r"[\w.'\u2019-]+")
# "Jane Doe said", "Jane Doe, 71, whose operation was cancelled, said": she speaks.
_SPEECH_AFTER = re.compile(
    r"^(?:(?:,[^,;:\"]{1,100}){1,3},)?,?(?: \w+ly)?(?: (?:has|had|have|will|would))? ("
    + "|".join(sorted(SPEECH_VERBS))
    + r")\b"
)
# "The hospital's chief executive, John Doe," and "Jane Roe, a ward nurse for …".
_DETERMINERS = r"(?:the|an?|its|his|her|their)"
_ROLE_BEFORE_APPOSITION = re.compile(
    rf"(?:^|\s)(?:(?i:{_DETERMINERS})\s|(?=[A-Z][\w-]*['\u2019]s\s))"
    rf"((?:(?!(?i:{_DETERMINERS})\s)[\w'\u2019-]+\s){{0,4}}[\w'\u2019-]+),\s$"
)
_ROLE_AFTER_APPOSITION = re.compile(r"^,\s(?:a|an|the)\s((?:[\w'\u2019-]+\s?){1,5})")
MAX_DESCRIPTION_WORDS = 30


@dataclass
class Entity:
    """Someone or something the article names, and where."""

    name: str
    kind: str
    role: str | None = None
    aliases: set[str] = field(default_factory=set)
    paragraphs: list[int] = field(default_factory=list)
    description: str = ""
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Run:
    """A run of capitalised words in a paragraph."""

    paragraph: int
    start: int
    end: int
    tokens: tuple[str, ...]
    sentence_start: bool

    @property
    def text(self) -> str:
        return " ".join(self.tokens)


def _runs(number: int, paragraph: str, sentence_starts: set[int]) -> list[Run]:
    runs = []
    for match in _RUN.finditer(paragraph):
        tokens = match.group().split(" ")
        end = match.end()
        # "Springfield's ferry": the possessive ends the name.
        for index, token in enumerate(tokens):
            if _POSSESSIVE.search(token) and len(token) > 2 and not token.endswith("s'"):
                stripped = _POSSESSIVE.sub("", token)
                end -= len(" ".join(tokens[index:])) - len(stripped)
                tokens = [*tokens[:index], stripped]
                break
        runs.append(
            Run(number, match.start(), end, tuple(tokens), match.start() in sentence_starts)
        )
    return runs


def _is_role(token: str) -> bool:
    return token.casefold() in ROLE_WORDS


def _demonym(token: str, following: str) -> bool:
    """ "Italian voters": a capitalised adjective before a lower-case noun."""
    return bool(re.match(r" [a-z]", following)) and token.endswith(DEMONYM_ENDINGS)


class Registry:
    """Every entity drafted so far, findable by name, surname or role phrase."""

    def __init__(self) -> None:
        self.entities: list[Entity] = []

    def find(self, name: str) -> Entity | None:
        """The entity called ``name`` (or known by it, as a surname)."""
        folded = name.casefold()
        for entity in self.entities:
            if entity.name.casefold() == folded:
                return entity
        for entity in self.entities:
            if folded in {alias.casefold() for alias in entity.aliases}:
                return entity
        return None

    def add(self, entity: Entity) -> Entity:
        known = self.find(entity.name)
        if known is not None:
            return known
        self.entities.append(entity)
        return entity

    def by_role(self, phrase: str) -> Entity | None:
        """The person whose role shares a word with ``phrase`` ("the Transport
        secretary" is the "State Transport Secretary")."""
        words = {w.casefold() for w in phrase.split() if w[:1].isupper() or _is_role(w)}
        words -= {w.casefold() for w in FUNCTION_WORDS}
        best: tuple[int, Entity] | None = None
        for entity in self.entities:
            if entity.kind != "person" or entity.role is None:
                continue
            shared = len(words & {w.casefold() for w in entity.role.split()})
            if shared and (best is None or shared > best[0]):
                best = (shared, entity)
        return best[1] if best else None


def find_entities(read: ReadArticle) -> Registry:
    """Every person, organisation, place and initiative the article's paragraphs name."""
    registry = Registry()
    content = set(read.content())
    all_runs: list[Run] = []
    for number, paragraph in enumerate(read.paragraphs, 1):
        if number not in content:
            continue
        starts = {s.start for s in read.sentences[number - 1]}
        dateline = parse_dateline(paragraph) if number == min(content) else None
        if dateline:
            starts.add(len(dateline.text) + 1)
        starts |= {m.end() for m in re.finditer(r'(?:^|[:"(]) ?"?', paragraph)}
        all_runs += [
            run
            for run in _runs(number, paragraph, starts)
            if not (dateline and run.end <= len(dateline.text))
        ]
    mid_sentence = {run.tokens[0] for run in all_runs if not run.sentence_start}
    whole = " ".join(read.paragraphs)
    for run in all_runs:
        _classify(run, read.paragraphs[run.paragraph - 1], registry, mid_sentence, whole)
    for entity in registry.entities:
        _place_in_article(entity, read)
    return registry


def _trim(run: Run, mid_sentence: set[str]) -> tuple[tuple[str, ...], int]:
    """Drop the run's leading words that only open a sentence; returns tokens and offset."""
    tokens = list(run.tokens)
    offset = run.start
    # "Supporters of Holt said": a plural noun opening the sentence, not a name.
    if (
        run.sentence_start
        and len(tokens) > 2
        and tokens[1] == "of"
        and tokens[0].endswith("s")
        and tokens[0] not in mid_sentence
    ):
        offset += len(tokens[0]) + len(" of ")
        del tokens[:2]
    while tokens and (
        tokens[0] in FUNCTION_WORDS
        or tokens[0].rstrip(".") in FUNCTION_WORDS
        or tokens[0] in CALENDAR
    ):
        offset += len(tokens[0]) + 1
        tokens.pop(0)
        while tokens and re.fullmatch(_CONNECTOR, tokens[0]):
            offset += len(tokens[0]) + 1
            tokens.pop(0)
    while tokens and (tokens[-1] in CALENDAR or re.fullmatch(_CONNECTOR, tokens[-1])):
        tokens.pop()
    return tuple(tokens), offset


def _role_in_apposition(before: str, after: str) -> str | None:
    """A role set off by commas next to the name, ending in a role word."""
    for pattern, text in ((_ROLE_BEFORE_APPOSITION, before), (_ROLE_AFTER_APPOSITION, after)):
        found = pattern.search(text)
        if found:
            words = found.group(1).split()
            # "a ward nurse for 14 years": the role ends at its last role word.
            while words and not _is_role(words[-1]):
                words.pop()
            if words:
                return " ".join(words)
    return None


def _role_before(paragraph: str, start: int, in_run: list[str]) -> str | None:
    """The role phrase before a name: capitalised or role words ending in a role word."""
    words = [w for w in paragraph[:start].split(" ") if w][-6:]
    phrase: list[str] = []
    for word in reversed(words):
        if word[-1:] in ',;:"(' or word.casefold() in {"the", "a", "an", "said", "says"}:
            break
        if word.endswith(".") and not re.fullmatch(r"(?:[A-Z]\.)+|[A-Z][a-z]{1,3}\.", word):
            break  # the end of the sentence before, not an abbreviation like "U.S." or "Gov."
        if word[:1].isupper() or _is_role(word) or word in {"of", "for"}:
            phrase.insert(0, word)
            continue
        break
    phrase += in_run
    if not phrase or not _is_role(phrase[-1]):
        return None
    while phrase and (phrase[0] in {"of", "for"} or phrase[0] in FUNCTION_WORDS):
        phrase.pop(0)
    return " ".join(phrase) or None


def _classify(
    run: Run, paragraph: str, registry: Registry, mid_sentence: set[str], whole: str
) -> None:
    tokens, offset = _trim(run, mid_sentence)
    if not tokens or all(t in CALENDAR or t in FUNCTION_WORDS for t in tokens):
        return
    following = paragraph[run.end : run.end + 160]
    name_tokens = list(tokens)
    role_tokens: list[str] = []
    # "Springfield General Hospital" names a place, though "General" can be a rank.
    institution = tokens[-1] in ORG_WORDS | PLACE_WORDS | INITIATIVE_WORDS and len(tokens) > 1
    roles = [] if institution else [i for i, t in enumerate(tokens) if _is_role(t) or t in TITLES]
    if roles and roles[-1] < len(tokens) - 1:
        cut = roles[-1] + 1
        if tokens[cut] == "of" and cut + 2 < len(tokens):  # "Secretary of State Jane Doe"
            cut += 2
        role_tokens, name_tokens = list(tokens[:cut]), list(tokens[cut:])
    elif roles:
        return  # a role without a name: the speech rules handle "the Chief"
    name = " ".join(name_tokens)
    if name in PLACES or (
        len(name_tokens) > 1
        and (name_tokens[-1] in PLACE_WORDS or name_tokens[0] in PLACE_PREFIXES)
    ):
        registry.add(Entity(name, "place"))
        return
    if name_tokens[-1] in INITIATIVE_WORDS and len(name_tokens) > 1:
        registry.add(Entity(name, "initiative"))
        return
    if (len(name_tokens) > 1 and any(t in ORG_WORDS for t in name_tokens)) or (
        len(name_tokens) == 1 and re.fullmatch(r"[A-Z]{2,6}", name) and name not in {"I"}
    ):
        registry.add(Entity(name, "organisation"))
        return
    if len(name_tokens) == 1 and re.fullmatch(r"(?:[A-Z]\.)+", name):
        return  # "U.S. efforts": an abbreviation used as an adjective
    if len(name_tokens) == 1 and _demonym(name, following):
        return
    before = paragraph[:offset].rstrip().rsplit(" ", 1)[-1].casefold()
    role = _role_before(paragraph, offset, role_tokens) or _role_in_apposition(
        paragraph[:offset], following
    )
    titled = any(t in TITLES for t in role_tokens)
    speaks = bool(_SPEECH_AFTER.match(following)) or before in SPEECH_VERBS
    known = registry.find(name)
    if known is not None:
        if known.kind == "person" and known.role is None and role and not titled:
            known.role = role
        return
    if role or titled or (len(name_tokens) > 1 and speaks):
        entity = registry.add(Entity(name, "person", None if titled else role))
        if len(name_tokens) > 1:
            entity.aliases.add(name_tokens[-1])
        return
    if before in PLACE_PREPOSITIONS or _listed_after_place(paragraph, offset, registry):
        if len(name_tokens) <= 3:
            registry.add(Entity(name, "place"))
        return
    if 2 <= len(name_tokens) <= 3 and all(t[1:].islower() for t in name_tokens):
        entity = registry.add(Entity(name, "person"))
        entity.aliases.add(name_tokens[-1])
        # A surname used alone later is how news copy refers to a person it has named.
        first, last = re.escape(name_tokens[-2]), re.escape(name_tokens[-1])
        if not re.search(rf"(?<!\w)(?<!{first} ){last}(?!\w)", whole):
            entity.notes.append("kind guessed: a name with no role or speech nearby")


def _listed_after_place(paragraph: str, offset: int, registry: Registry) -> bool:
    """ "in Peru, Chile, and Bolivia": later items of a list of places."""
    head = paragraph[:offset]
    match = re.search(r"([A-Z][\w .'-]*?),(?: and| or)? $|([A-Z][\w .'-]*?) (?:and|or) $", head)
    if not match:
        return False
    previous = (match.group(1) or match.group(2)).strip()
    known = registry.find(previous.split(", ")[-1])
    return known is not None and known.kind == "place"


def _place_in_article(entity: Entity, read: ReadArticle) -> None:
    """Cite the paragraphs that name the entity in full; describe it by its first sentence."""
    pattern = re.compile(rf"(?<!\w){re.escape(entity.name)}(?!\w)")
    for number in read.content():
        if pattern.search(read.paragraphs[number - 1]):
            entity.paragraphs.append(number)
    for sentence in (s for number in entity.paragraphs for s in read.sentences[number - 1]):
        if pattern.search(sentence.text):
            entity.description = clip(sentence.text, MAX_DESCRIPTION_WORDS)
            break


def clip(text: str, words: int) -> str:
    """``text`` cut to ``words`` words, marked with an ellipsis when cut."""
    parts = text.split()
    return text if len(parts) <= words else " ".join(parts[:words]).rstrip(",;:") + " …"
