"""The digest being served, its versions, and how a new one is published (Telegram-free).

The digest served is always the store's current version. Publishing (a /reload, or a digest
file found changed at start) validates the file, stores it as a new version with one
broadcast of what changed, and only then swaps it in; a rollback moves the current pointer
back. An invalid file changes nothing anyone sees.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.answers import AnswerEngine
from bot.digest import Digest, inspect_digest, inspect_texts
from bot.digest.diff import Changed, DigestDiff, SectionChanges, diff_digests
from bot.render import DigestCache, Renderer
from bot.store import Announcement, Publication, Store, Unanswered, Version, VersionReason

logger = logging.getLogger(__name__)


def changes_between(old: Digest, new: Digest) -> DigestDiff:
    """What a reader would notice: the digest's sections, and the article text itself."""
    diff = diff_digests(old.document, new.document)
    if old.article.text != new.article.text:
        diff = DigestDiff(
            [*diff.sections, SectionChanges("article", changed=[Changed(None, ("text",))])]
        )
    return diff


@dataclass(frozen=True)
class ReloadOutcome:
    """What a /reload (or /reload check) found and did."""

    version: Version
    """The current version afterwards."""
    problems: list[str] = field(default_factory=list)
    diff: DigestDiff | None = None
    recipients: int = 0


@dataclass(frozen=True)
class RollbackOutcome:
    """What a /rollback did; ``restored`` is None when nothing was restored."""

    current: Version
    restored: Version | None = None
    diff: DigestDiff | None = None
    recipients: int = 0
    unservable: int | None = None
    """The previous version's id, when it exists but fails today's validation."""
    moved: bool = False
    """True when the current version changed while the correction was being prepared
    (another replica published or rolled back): nothing was changed, the admin may retry."""


UNANSWERED_READ = 3
"""/unanswered reads this many times the questions it shows, to list open ones first."""

CHANGES_PREFIX = "changes:"
"""Callback data of the button under a cut update: ``changes:<base id>:<fingerprint>``."""
FINGERPRINT_IN_BUTTON = 16
"""Hex digits of the new version's fingerprint a button carries (callback data: 64 bytes)."""


def all_changes_keyboard(label: str, base_id: int, fingerprint: str) -> dict[str, Any]:
    """The inline keyboard, as the Bot API's JSON, with one button listing every change."""
    data = f"{CHANGES_PREFIX}{base_id}:{fingerprint[:FINGERPRINT_IN_BUTTON]}"
    return {"inline_keyboard": [[{"text": label, "callback_data": data}]]}


@dataclass(frozen=True)
class AnsweredNow:
    """A question once answered "the article does not say" that the digest served answers
    now (an editor's ``questions:`` entry or ``lexicon`` word, after a /reload)."""

    question: Unanswered
    paragraph: int


@dataclass(frozen=True)
class UnansweredList:
    """The editor's to-do list: the most asked questions still not answered, and the most
    asked of those the digest answers now."""

    open: list[Unanswered]
    answered: list[AnsweredNow]


class DigestLibrary:
    """Serves the current digest and publishes new versions of it."""

    def __init__(
        self,
        store: Store,
        path: Path,
        renderer: Renderer,
        file_digest: Digest,
        *,
        on_broadcast: Callable[[], None] = lambda: None,
    ) -> None:
        self.store = store
        self.path = path
        self.renderer = renderer
        self.on_broadcast = on_broadcast
        # Until start() has consulted the store, the file is the best answer there is.
        self._file_digest = self._current = file_digest
        self._answers = AnswerEngine(file_digest)
        self._cache = DigestCache(file_digest)
        self._version: Version | None = None
        # One publication at a time: two admins reloading at once must not interleave.
        self._lock = asyncio.Lock()

    @property
    def current(self) -> Digest:
        """The digest to answer from; replaced whole, never edited in place."""
        return self._current

    @property
    def answers(self) -> AnswerEngine:
        """Answers free-text questions from the digest being served."""
        return self._answers

    async def unanswered(self, shown: int) -> UnansweredList:
        """Up to ``shown`` of the questions most asked that the digest still does not answer,
        and up to ``shown`` it answers now, among the most asked few times ``shown``: answered
        ones keep their counts and must not crowd out the open ones."""
        open_: list[Unanswered] = []
        answered: list[AnsweredNow] = []
        for question in await self.store.unanswered.most_asked(shown * UNANSWERED_READ):
            paragraph = self._answers.answer(question.text).paragraph
            if paragraph is None:
                open_.append(question)
            else:
                answered.append(AnsweredNow(question, paragraph))
        return UnansweredList(open_[:shown], answered[:shown])

    @property
    def cache(self) -> DigestCache:
        """What handlers render from the digest being served; a new one with each new digest."""
        return self._cache

    @property
    def version(self) -> Version:
        """The stored version being served."""
        if self._version is None:
            raise RuntimeError("DigestLibrary.start() has not run")
        return self._version

    async def start(self) -> None:
        """Serve the store's current version, publishing the file if it changed on disk."""
        file_digest = self._file_digest
        async with self._lock:
            version = await self.store.versions.current_version()
            if version is not None and version.fingerprint == file_digest.fingerprint:
                # The file holds what is current (the usual restart): it is validated
                # already, and its answer engine and rendered messages are built. As
                # below, the file is remembered as loaded, so that a later edit of it is
                # told apart from what a rollback left on disk.
                if await self.store.versions.file_fingerprint() != file_digest.fingerprint:
                    await self.store.versions.remember_file(file_digest.fingerprint)
                self._serve(file_digest, version)
                return
            served = None if version is None else self._digest_of(version)
            if version is None or served is None:
                # First start, or a stored version that today's rules refuse: the file it is.
                publication = await self._publish(file_digest, None, "start", announce=None)
                self._serve(file_digest, publication.version)
                return
            if file_digest.fingerprint == await self.store.versions.file_fingerprint():
                # The file is as last loaded: whatever is current (a rollback too) stays.
                self._serve(served, version)
                return
            diff = changes_between(served, file_digest)
            if not diff:  # edited, but not in anything a reader sees (comments, layout)
                await self.store.versions.remember_file(file_digest.fingerprint)
                self._serve(served, version)
                return
            logger.info("the digest file changed on disk: publishing it (%d changes)", diff.count)
            publication = await self._publish(file_digest, None, "start", announce=diff)
            self._serve(file_digest, publication.version)

    async def reload(self, admin_id: int, *, check: bool) -> ReloadOutcome:
        """Validate the digest file and, unless ``check``, publish it if it changed."""
        async with self._lock:
            digest, problems = await asyncio.to_thread(inspect_digest, self.path)
            if digest is None:
                return ReloadOutcome(self.version, problems=[str(p) for p in problems])
            diff = changes_between(self._current, digest)
            if not diff:
                if not check:
                    await self.store.versions.remember_file(digest.fingerprint)
                return ReloadOutcome(self.version, diff=diff)
            if check:
                counts = await self.store.subscriptions.subscriber_counts()
                return ReloadOutcome(self.version, diff=diff, recipients=counts.active)
            publication = await self._publish(digest, admin_id, "reload", announce=diff)
            self._serve(digest, publication.version)
            return ReloadOutcome(publication.version, diff=diff, recipients=publication.recipients)

    async def rollback(self, admin_id: int) -> RollbackOutcome:
        """Make the previous version current again, announced to subscribers as a correction
        (unless no reader could see the difference).

        The version to restore is validated and the correction rendered before anything is
        written; the store then commits only if the version current when we looked still
        is, so a publication by another replica meanwhile is never silently undone.
        """
        async with self._lock:
            found = await self.store.versions.rollback_target()
            if found is None:
                return RollbackOutcome(self.version)
            current, target = found
            restored = await asyncio.to_thread(self._digest_of, target)
            if restored is None:
                logger.warning("version %d no longer passes validation: not restored", target.id)
                return RollbackOutcome(self.version, unservable=target.id)
            if self._version is not None and current.id == self._version.id:
                served: Digest | None = self._current
            else:  # another replica made it current: validate it like any stored version
                served = await asyncio.to_thread(self._digest_of, current)
            diff = changes_between(served or restored, restored)
            # Undoing a change no reader saw (the editor's questions, the lexicon) is no
            # news to them: restored without a correction, as it was published without one.
            announcement = (
                self.announcement(restored, diff, correction=True, base_id=current.id)
                if diff.for_readers
                else None
            )
            publication = await self.store.versions.rollback(
                current,
                target,
                published_by=admin_id,
                announcement=None if announcement is None else list(announcement.parts),
                keyboard=None if announcement is None else announcement.keyboard,
                combined=None
                if announcement is None
                else await self._combined(restored, correction=True),
            )
            if publication is None:
                logger.warning("version %d stopped being current during /rollback", current.id)
                return RollbackOutcome(self.version, moved=True)
            self._serve(restored, publication.version)
            if publication.broadcast_id is not None:
                self.on_broadcast()
            return RollbackOutcome(
                publication.version, publication.version, diff, publication.recipients
            )

    async def _publish(
        self,
        digest: Digest,
        admin_id: int | None,
        reason: VersionReason,
        *,
        announce: DigestDiff | None,
    ) -> Publication:
        # A change no reader can see (the editor's questions, the lexicon) is published
        # without a broadcast.
        announcement = (
            None
            if announce is None or not announce.for_readers
            else self.announcement(
                digest,
                announce,
                correction=False,
                base_id=self._version.id if self._version else None,
            )
        )
        parts = None if announcement is None else list(announcement.parts)
        publication = await self.store.versions.publish(
            fingerprint=digest.fingerprint,
            digest_yaml=digest.digest_text,
            article_text=digest.article.text,
            published_by=admin_id,
            reason=reason,
            file_fingerprint=digest.fingerprint,
            announcement=parts,
            keyboard=None if announcement is None else announcement.keyboard,
            combined=None if parts is None else await self._combined(digest, correction=False),
        )
        if publication.broadcast_id is not None:
            self.on_broadcast()
        return publication

    async def _combined(
        self, digest: Digest, *, correction: bool
    ) -> dict[int, Announcement | None]:
        """For chats not yet sent an earlier update: one message from what they were last
        sent (each unsent update's base version) to ``digest``, or None when nothing a
        reader sees differs. A subscriber then gets one message, not one per publish.

        The publication lock is held: no other publication can add a base meanwhile, and
        one the sender empties in between only leaves its combined message unsent to none.
        """
        combined: dict[int, Announcement | None] = {}
        for base_id in sorted(await self.store.ledger.pending_bases()):
            base = await asyncio.to_thread(
                self._digest_of, await self.store.versions.version(base_id)
            )
            if base is None:  # no longer valid: those chats keep the message they have
                continue
            diff = changes_between(base, digest)
            combined[base_id] = (
                self.announcement(digest, diff, correction=correction, base_id=base_id)
                if diff.for_readers
                else None
            )
        return combined

    def announcement(
        self, digest: Digest, diff: DigestDiff, *, correction: bool, base_id: int | None
    ) -> Announcement:
        """The update message: always one message, the most important changes first.

        Every change when they fit Telegram's limit; else as many as fit, in
        :data:`bot.digest.diff.READING_ORDER`, a count of the rest, and a button that lists
        them all (the changes from version ``base_id`` to ``digest``).
        """
        total = len(diff.for_readers.entries())
        shown = total
        while True:
            parts = self.renderer.messages(
                "update.html", brief=digest.document, diff=diff, correction=correction, shown=shown
            )
            if len(parts) == 1 or shown == 0:
                break
            # Fewer entries next time, by about as much as the message is too long.
            shown = min(shown - 1, int(shown / len(parts)))
        keyboard = None
        if shown < total and base_id is not None:
            keyboard = all_changes_keyboard(
                self.renderer.labels.all_changes, base_id, digest.fingerprint
            )
        return Announcement(tuple(parts[:1]), keyboard)

    async def all_changes(self, base_id: int, fingerprint: str) -> DigestDiff | None:
        """Every change from version ``base_id`` to the version with ``fingerprint`` (a
        prefix will do), for the button under an update that was cut; None if either is
        unknown or no longer valid."""
        version = await self.store.versions.with_fingerprint(fingerprint)
        if version is None:
            return None
        try:
            base = await self.store.versions.version(base_id)
        except LookupError:
            return None
        old = await asyncio.to_thread(self._digest_of, base)
        new = await asyncio.to_thread(self._digest_of, version)
        return None if old is None or new is None else changes_between(old, new).for_readers

    def _serve(self, digest: Digest, version: Version) -> None:
        if digest is not self._current:
            self._answers = AnswerEngine(digest)
            # Rendered messages belong to the digest they were rendered from: start afresh.
            self._cache = DigestCache(digest)
        self._current, self._version = digest, version

    def _digest_of(self, version: Version) -> Digest | None:
        digest, problems = inspect_texts(
            self.path, version.digest_yaml.encode("utf-8"), version.article_text
        )
        if digest is None:
            logger.warning(
                "stored version %d does not validate: %s", version.id, "; ".join(map(str, problems))
            )
        return digest
