"""Direct quotes and reported speech, each with the speaker the attribution names.

A quote's speaker comes from its own sentence first ("…," said Roe / Roe said:
"…" / "…," he added), then from the quote before it in the paragraph (a quote continued in
the next sentence), then from the previous paragraph when the quote carries on from it, and
last from the most recent speaker, with a ``# check:`` note. A pronoun is the person named
last before it (flagged when someone else spoke last); a surname is the full name it was
introduced with; "the Transport secretary" is the person whose role shares its
words; "a ministry spokesman" is a new, unnamed person; "the airline" an organisation, named
by those words and flagged.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.draft.items import Drafted
from bot.draft.lexicon import ORGANISATION_NOUNS, PRONOUNS, ROLE_WORDS, SPEECH_VERBS
from bot.draft.people import MAX_DESCRIPTION_WORDS, Entity, Registry, clip
from bot.draft.text import QuoteMarks, ReadArticle, Sentence, open_quote, quote_marks

QUOTE_MIN_WORDS = 3
STATEMENT_MIN_WORDS = 4

_VERB = "(?:" + "|".join(sorted(SPEECH_VERBS, key=len, reverse=True)) + r")\b"
_MASK = "\x00"
# A subject: a few words with no clause punctuation in them.
_SUBJECT = r"[^,;:!?\x00\"]{1,80}?"
_INVERTED = re.compile(rf"^[,.!?]?\s*(?:{_VERB})\s+({_SUBJECT})\s*(?:[,.;:!?](?:\s|$)|$)")
_NORMAL_AFTER = re.compile(
    rf"^[,.!?]?\s*({_SUBJECT})\s+(?:\w+ly\s+)?(?:has |had |have |will |would )?(?:{_VERB})\b"
)
_VERB_IN = re.compile(rf"\b(?:{_VERB}|called|described|dubbed|termed)\b")
_ACCORDING = re.compile(rf"\baccording to ({_SUBJECT})(?=[,.;]|$)", re.IGNORECASE)
_TIME_IN_SUBJECT = re.compile(
    r"\b(?:on|last|this|next|earlier|later)\s+\w+day\b|\b(?:this|last|next) (?:week|month|year)\b"
    r"|\b(?:also|later|then|again|earlier|previously|separately|once|already|however|"
    r"meanwhile|recently|today|yesterday|\w+ly|has|had|have|will|would)\b",
)
_AFTER_VERB = re.compile(
    r"(?:on|in|at|last|this|late|early|earlier|today|yesterday|afterwards|later|then|also|"
    r"again|previously|separately|publicly|privately|repeatedly|in a statement)\b",
    re.IGNORECASE,
)
_OF = frozenset({"of", "for", "at", "from", "with", "near", "in"})
_CONJUNCTION = re.compile(r"\s*(?:and|but|or|then|so)\b", re.IGNORECASE)
_DETERMINER = re.compile(r"^(?:the|a|an)\s+", re.IGNORECASE)
# Reported speech that is not a request ("asked the council to …") and says what was said.
_REPORTING = sorted(SPEECH_VERBS - {"asked", "asks", "urged", "urges", "told", "tells"}, key=len)
_STATEMENT = re.compile(
    rf"(?P<subject>{_SUBJECT})(?:,(?P<apposition>[^,;:!?\"]{{1,120}})(?:,[^,;:!?\"]{{1,120}})?,)?\s+(?:\w+ly\s+)?(?:has |had |have )?"
    rf"(?:(?P<verb>{'|'.join(reversed(_REPORTING))})\b|(?P<told>told|tells)\s+[\w ]{{1,40}}?\s+that)"
    r"\s+(?:that\s+)?(?P<clause>[a-zA-Z0-9$].*)$"
)
# "…, the department said (on Tuesday)(, forcing …)": the statement is the clause before. A
# participle after the attribution is the reporter's addition ("forcing …"), or more of the
# speaker's ("adding that …"), left for the editor: the clause is the statement either way.
_SAID_WHEN = (
    r"(?:(?:late |early )?(?:on |last |this |next )?\w+day|(?:last|this|next) (?:week|month|year)"
    r"|in a statement(?: on \w+day)?)"
)
_TRAILING = re.compile(
    rf"^(?P<clause>.{{20,}}),\s+(?P<subject>{_SUBJECT})\s+(?:{_VERB})(?:\s+{_SAID_WHEN})?"
    r"(?:\.?|,\s+[a-z]\w*ing\b.*)$"
)


@dataclass
class Speakers:
    """Who spoke last, so a pronoun or an unattributed quote can find its speaker."""

    registry: Registry
    read: ReadArticle
    last: str | None = None

    def resolve(
        self, phrase: str, paragraph: int, sentence: str, at: int = 0
    ) -> tuple[str | None, str | None]:
        """The speaker a subject phrase names, and a note when it is a guess.

        ``at`` is where the phrase stands in the paragraph: a pronoun is the person named
        last before it.
        """
        phrase = _TIME_IN_SUBJECT.sub(" ", phrase.strip(" ,\"'")).strip()
        phrase = re.sub(r"\s+", " ", phrase).strip(" ,")
        words = phrase.split()[-8:]
        if not words:
            return None, None
        if words[-1].casefold() in PRONOUNS:
            if words[-1].casefold() == "it":
                return None, None
            named = self.named_before(paragraph, at)
            if named is None or (self.last is not None and named != self.last):
                guess = named or self.last
                if guess is None:
                    return None, None
                return guess, (
                    f'"{words[-1]}" taken as {guess}, named last; the last speaker was {self.last}'
                    if named and self.last
                    else f'"{words[-1]}" taken as the last speaker, {guess}'
                )
            return named, None
        for index in range(len(words)):
            if index and words[index - 1].casefold() in _OF:
                continue  # "Supporters of Holt" are not Holt
            entity = self.registry.find(" ".join(words[index:]).strip(".'\u2019"))
            if entity is not None and entity.kind != "initiative":
                return entity.name, None
        return self._role_phrase(" ".join(words), paragraph, sentence)

    def _role_phrase(
        self, phrase: str, paragraph: int, sentence: str
    ) -> tuple[str | None, str | None]:
        head = re.split(r"\s+(?:for|of|at|from|with|in)\s+", phrase, maxsplit=1)[0]
        if head and head.split()[-1].casefold() in ORGANISATION_NOUNS and _DETERMINER.match(head):
            return self._organisation(head, paragraph, sentence)
        if not head or head.split()[-1].casefold() not in ROLE_WORDS:
            return None, None
        if re.match(r"the\s", phrase, re.IGNORECASE):
            known = self.registry.by_role(head)
            if known is not None:
                return known.name, f'"{phrase}" taken as {known.name}'
            if self.last is not None:
                return self.last, f'"{phrase}" taken as the last speaker, {self.last}'
        name = _DETERMINER.sub("", phrase)
        entity = self.registry.add(Entity(name, "person"))
        if not entity.paragraphs:
            entity.paragraphs.append(paragraph)
            entity.description = clip(sentence, MAX_DESCRIPTION_WORDS)
        return entity.name, None

    def named_before(self, paragraph: int, at: int) -> str | None:
        """The person named last before position ``at`` of ``paragraph``, outside quotations,
        in this paragraph or the one before."""
        people = [entity for entity in self.registry.entities if entity.kind == "person"]
        for number in range(paragraph, max(paragraph - 2, 0), -1):
            text = _outside_quotes(self.read.paragraphs[number - 1])
            if number == paragraph:
                text = text[:at]
            best: tuple[int, str] | None = None
            for entity in people:
                for name in (entity.name, *entity.aliases):
                    for found in re.finditer(rf"(?<!\w){re.escape(name)}(?!\w)", text):
                        if best is None or found.end() > best[0]:
                            best = (found.end(), entity.name)
            if best is not None:
                return best[1]
        return None

    def _organisation(
        self, phrase: str, paragraph: int, sentence: str
    ) -> tuple[str | None, str | None]:
        """ "The airline said": the organisation, by the article's words for it."""
        name = _DETERMINER.sub("", phrase)
        entity = self.registry.add(Entity(name, "organisation"))
        if not entity.paragraphs:
            entity.paragraphs.append(paragraph)
            entity.description = clip(sentence, MAX_DESCRIPTION_WORDS)
        return entity.name, f'"{phrase}": which one? name it as the article does elsewhere'

    def heard(self, speaker: str) -> None:
        entity = self.registry.find(speaker)
        if entity is not None and entity.kind == "person":
            self.last = speaker


def _outside_quotes(paragraph: str) -> str:
    """The paragraph with its quotations blanked, a quotation left open included."""
    masked = _masked(paragraph, quote_marks(0, paragraph))
    if open_quote(paragraph):
        start = paragraph.rindex('"')
        masked = masked[:start] + _MASK * (len(paragraph) - start)
    return masked


def _masked(paragraph: str, marks: list[QuoteMarks]) -> str:
    """The paragraph with every quotation (marks included) blanked out."""
    text = list(paragraph)
    for mark in marks:
        text[mark.start : mark.end + 1] = _MASK * (mark.end + 1 - mark.start)
    return "".join(text)


def _attribution(masked: str, mark: QuoteMarks, context: tuple[int, int]) -> list[str]:
    """Subject phrases that may attribute the quote, from its own sentence(s), best first."""
    candidates: list[str] = []
    after = masked[mark.end + 1 : context[1]].split(_MASK, 1)[0]
    for pattern in (_INVERTED, _NORMAL_AFTER):
        found = pattern.match(after)
        # "… and said the city should …" goes on with the same subject: not an attribution.
        if found and len(found.group(1).split()) <= 8 and not _CONJUNCTION.match(found.group(1)):
            candidates.append(found.group(1))
    before = masked[context[0] : mark.start].rsplit(_MASK, 1)[-1]
    according = _ACCORDING.search(before)
    if according:
        candidates.append(according.group(1))
    verbs = list(_VERB_IN.finditer(before))
    subject = _subject_before(before[: verbs[-1].start()]) if verbs else None
    if subject:
        candidates.append(subject)
    return candidates


def _subject_before(text: str) -> str | None:
    """The subject ending ``text``: its last clause, passing over an appositive
    ("Ray Duval, who voted against the plan, called it …")."""
    for piece in reversed(re.split(r"[,;:]|\bthat\b", text)):
        piece = piece.strip()
        if piece and not re.match(r"(?:who|which|whose|a|an|the|\d)\b", piece, re.IGNORECASE):
            return piece
        if (
            re.match(r"(?:the|a|an)\s", piece, re.IGNORECASE)
            and piece.split()[-1].casefold() in ROLE_WORDS | ORGANISATION_NOUNS
        ):
            return piece
    return None


def draft_speech(
    read: ReadArticle, speakers: Speakers
) -> tuple[list[Drafted], list[Drafted], list[str]]:
    """Quotes and statements in article order; and what was left out, and why."""
    quotes: list[Drafted] = []
    statements: list[Drafted] = []
    skipped: list[str] = []
    previous_open = False
    last_quote_speaker: str | None = None
    for number in read.content():
        paragraph = read.paragraphs[number - 1]
        marks = quote_marks(number, paragraph)
        masked = _masked(paragraph, marks)
        in_paragraph: str | None = None
        for sentence in read.sentences[number - 1]:
            own = [m for m in marks if sentence.start <= m.start < sentence.end]
            if not own and not read.quoted(sentence):
                statement = _statement(sentence, speakers)
                if statement is not None:
                    statements.append(statement)
                continue
            for mark in own:
                words = mark.text.split()
                if len(words) < QUOTE_MIN_WORDS:
                    continue  # a scare quote or a title, too short to stand as a quote
                end_sentence = next(
                    (s for s in read.sentences[number - 1] if s.start <= mark.end < s.end + 1),
                    sentence,
                )
                speaker, note = None, None
                for subject in _attribution(masked, mark, (sentence.start, end_sentence.end)):
                    speaker, note = speakers.resolve(subject, number, sentence.text, mark.start)
                    if speaker is not None:
                        break
                if speaker is None:
                    speaker, note = _fallback(
                        mark, in_paragraph, previous_open, last_quote_speaker, speakers, masked
                    )
                if speaker is None:
                    skipped.append(f"paragraph {number}: a quote with no speaker found")
                    continue
                speakers.heard(speaker)
                in_paragraph = last_quote_speaker = speaker
                item = Drafted(
                    {"speaker": speaker, "text": mark.text.strip().rstrip(",;:"), "cite": [number]}
                )
                if note:
                    item.notes.append(note)
                quotes.append(item)
        if open_quote(paragraph):
            # Left open, it cannot be cited, but its speaker goes on into the next paragraph.
            start = paragraph.rindex('"')
            mark = QuoteMarks(number, start, len(paragraph), paragraph[start + 1 :])
            for subject in _attribution(
                masked, mark, (_sentence_start(read, mark), len(paragraph))
            ):
                speaker, _ = speakers.resolve(subject, number, paragraph, start)
                if speaker is not None:
                    speakers.heard(speaker)
                    last_quote_speaker = speaker
                    break
            skipped.append(
                f"paragraph {number}: a quote left open at the paragraph's end (not inside one "
                "pair of quotation marks, so check would reject it)"
            )
        # A paragraph left inside a quotation goes on with the same speaker in the next.
        previous_open = open_quote(paragraph)
    return quotes, statements, skipped


def _sentence_start(read: ReadArticle, mark: QuoteMarks) -> int:
    return max(
        (s.start for s in read.sentences[mark.paragraph - 1] if s.start <= mark.start), default=0
    )


def _fallback(
    mark: QuoteMarks,
    in_paragraph: str | None,
    previous_open: bool,
    last_quote_speaker: str | None,
    speakers: Speakers,
    masked: str,
) -> tuple[str | None, str | None]:
    """A speaker for a quote whose own sentence names none."""
    if in_paragraph is not None:
        return in_paragraph, None
    if mark.start == 0 and previous_open and last_quote_speaker is not None:
        return last_quote_speaker, None
    for verb in _VERB_IN.finditer(masked):
        subject = re.split(r"[,;:.\x00]|\bthat\b", masked[: verb.start()])[-1]
        found, _ = (
            speakers.resolve(subject, mark.paragraph, "", mark.start)
            if subject.strip()
            else (None, None)
        )
        if found is not None:
            return found, f"speaker from another sentence of the paragraph: {found}"
    if speakers.last is not None:
        return speakers.last, f"no attribution: taken as the last speaker, {speakers.last}"
    return None, None


def _reports(found: re.Match[str]) -> bool:
    """ "said" may report a bare clause; another verb only with "that" ("added that …"):
    "Wren added a third" is a goal, not a statement."""
    verb = found.group("verb")
    if verb is None or verb in {"said", "says", "say"}:
        return True
    return text_after(found, "verb").lstrip().startswith("that ")


def text_after(found: re.Match[str], group: str) -> str:
    return found.string[found.end(group) :]


def _statement(sentence: Sentence, speakers: Speakers) -> Drafted | None:
    """Reported speech in a sentence with no quotation marks: ``X said (that) …``."""
    text = sentence.text
    clause: str | None = None
    subject: str | None = None
    apposition: str | None = None
    according = _ACCORDING.search(text)
    if according:
        subject = according.group(1)
        clause = (text[: according.start()] + text[according.end() :]).strip(" ,.")
    elif found := _TRAILING.match(text):
        subject, clause = found.group("subject"), found.group("clause")
    elif (found := _STATEMENT.search(text)) and _reports(found):
        subject = re.split(r"[,;:]|\bthat\b", found.group("subject"))[-1]
        clause, apposition = found.group("clause"), found.group("apposition")
    if not subject or not clause or len(subject.split()) > 8:
        return None
    # "said on Wednesday that …", "said afterwards that …": the clause starts after "that".
    later = re.match(r"(?:[\w,-]+ ){1,5}?that (.+)", clause)
    if later and re.match(_AFTER_VERB, clause):
        clause = later.group(1)
    clause = clause.strip().rstrip(".!?;:, ")
    if len(clause.split()) < STATEMENT_MIN_WORDS:
        return None
    named = speakers.registry.find(apposition.strip()) if apposition else None
    if apposition and named is not None and named.kind == "person":
        subject = apposition  # "The board's director, Samuel Adeyemi, said": the name
    speaker, note = speakers.resolve(subject, sentence.paragraph, text, sentence.start)
    if speaker is None:
        return None
    speakers.heard(speaker)
    item = Drafted(
        {
            "speaker": speaker,
            "text": clause[0].upper() + clause[1:] + ".",
            "cite": [sentence.paragraph],
        }
    )
    if note:
        item.notes.append(note)
    return item
