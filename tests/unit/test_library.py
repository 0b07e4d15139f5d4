"""The digest library against the real store: what start-up serves and publishes, and a
rollback that prepares first, then commits."""

from __future__ import annotations

import asyncio
import hashlib
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.digest import load_digest
from bot.library import DigestLibrary
from bot.render import Renderer
from bot.store import Store, Version
from tests.conftest import EditDigest
from tests.postgres import open_store

ADMIN = 9001
QUOTE_CONTEXT = "    context: Continuing the same remarks."
OTHER_REPLICA_WAIT = 5.0
"""Seconds the other replica's publication may take; far more than it needs when nothing
holds the current pointer."""


async def publish_elsewhere(store: Store, digest_yaml: str, article_text: str) -> Version:
    """What another replica's /reload writes: a new current version (announced to nobody)."""
    publication = await store.versions.publish(
        fingerprint=hashlib.sha256(f"{digest_yaml}{article_text}".encode()).hexdigest(),
        digest_yaml=digest_yaml,
        article_text=article_text,
        published_by=ADMIN + 1,
        reason="reload",
        file_fingerprint=None,
        announcement=None,
    )
    return publication.version


async def another_replica_publishes(url: str) -> Version:
    """:func:`publish_elsewhere` from another process: on an engine of its own."""
    store = await open_store(url)
    try:
        return await publish_elsewhere(store, "title: from the other replica\n", "elsewhere\n")
    finally:
        await store.close()


class RacingRenderer(Renderer):
    """Renders as usual; while rendering a correction, another replica publishes.

    The render is synchronous, so the other replica runs on a thread with its own event
    loop, and the render waits for it (at most :data:`OTHER_REPLICA_WAIT`).
    """

    def __init__(self, url: str) -> None:
        super().__init__()
        self.url = url
        self.published: list[Version] = []
        self.thread: threading.Thread | None = None
        self.waited_for: bool | None = None
        """Whether the other replica's publication was done before the render went on."""

    def messages(self, name: str, **context: Any) -> list[str]:
        if name == "update.html" and context.get("correction") and self.thread is None:
            self.thread = threading.Thread(
                target=lambda: self.published.append(
                    asyncio.run(another_replica_publishes(self.url))
                )
            )
            self.thread.start()
            self.thread.join(OTHER_REPLICA_WAIT)
            self.waited_for = not self.thread.is_alive()
        return super().messages(name, **context)


@asynccontextmanager
async def serving(
    url: str, path: Path, renderer: Renderer | None = None
) -> AsyncIterator[tuple[Store, DigestLibrary]]:
    """A store on ``url``, and a started library serving the digest at ``path``."""
    store = await open_store(url)
    try:
        library = DigestLibrary(store, path, renderer or Renderer(), load_digest(path))
        await library.start()
        yield store, library
    finally:
        await store.close()


async def publish_an_edit(library: DigestLibrary, edit_digest: EditDigest) -> Version:
    """Edit a quote's context in the digest file and /reload it: version 2."""
    edit_digest(QUOTE_CONTEXT, "    context: Still speaking.")
    version = (await library.reload(ADMIN, check=False)).version
    assert version.id == 2
    return version


def add_a_comment(path: Path) -> None:
    """Edit the digest file where no reader looks: a comment at its end."""
    path.write_text(path.read_text(encoding="utf-8") + "# An editor's note.\n", encoding="utf-8")


# -- start-up ------------------------------------------------------------------------------


async def test_the_first_start_publishes_the_file(database_url: str, seeds_copy: Path) -> None:
    on_disk = load_digest(seeds_copy)
    async with serving(database_url, seeds_copy) as (store, library):
        version = library.version
        assert (version.id, version.reason, version.published_by) == (1, "start", None)
        assert version.fingerprint == library.current.fingerprint == on_disk.fingerprint
        assert await store.versions.current_version() == version
        assert await store.versions.file_fingerprint() == on_disk.fingerprint
        assert await store.ledger.latest_broadcast() is None  # nobody to tell of a first start


@pytest.mark.parametrize(
    ("edit", "published"),
    [
        pytest.param(None, False, id="unchanged"),
        pytest.param("comment", False, id="layout-only"),
        pytest.param("quote", True, id="changed-for-readers"),
    ],
)
async def test_a_restart_publishes_the_file_only_when_a_reader_would_see_a_change(
    database_url: str, seeds_copy: Path, edit_digest: EditDigest, edit: str | None, published: bool
) -> None:
    async with serving(database_url, seeds_copy) as (_, library):
        first = library.version
    if edit == "comment":
        add_a_comment(seeds_copy)
    elif edit == "quote":
        edit_digest(QUOTE_CONTEXT, "    context: Still speaking.")
    on_disk = load_digest(seeds_copy)
    async with serving(database_url, seeds_copy) as (store, library):
        # Either way the file is remembered as loaded: a later edit is told apart from it.
        assert await store.versions.file_fingerprint() == on_disk.fingerprint
        assert await store.versions.current_version() == library.version
        if published:
            assert (library.version.id, library.version.reason) == (2, "start")
            assert library.version.replaces_version_id == first.id
            assert library.current.fingerprint == on_disk.fingerprint
        else:
            assert library.version == first
            assert library.current.fingerprint == first.fingerprint


async def test_a_restart_keeps_a_rollback_while_the_file_is_as_last_loaded(
    database_url: str, seeds_copy: Path, edit_digest: EditDigest
) -> None:
    async with serving(database_url, seeds_copy) as (_, library):
        v2 = await publish_an_edit(library, edit_digest)
        restored = (await library.rollback(ADMIN)).restored
        assert restored is not None
        assert restored.fingerprint != v2.fingerprint
    # The file on disk still says version 2: the operator has not touched it since.
    async with serving(database_url, seeds_copy) as (store, library):
        assert library.version == restored
        assert library.current.fingerprint == restored.fingerprint
        assert await store.versions.current_version() == restored


async def test_a_stored_version_that_no_longer_validates_gives_way_to_the_file(
    database_url: str, seeds_copy: Path
) -> None:
    store = await open_store(database_url)
    try:
        # Published by an older release whose rules were looser.
        broken = await publish_elsewhere(store, "title: no longer valid\n", "An article.\n")
    finally:
        await store.close()
    async with serving(database_url, seeds_copy) as (store, library):
        assert (library.version.id, library.version.reason) == (broken.id + 1, "start")
        assert library.current.fingerprint == load_digest(seeds_copy).fingerprint
        assert await store.versions.current_version() == library.version


# -- rollback ------------------------------------------------------------------------------


async def test_a_publication_elsewhere_during_a_rollback_is_not_undone(
    database_url: str, seeds_copy: Path, edit_digest: EditDigest
) -> None:
    renderer = RacingRenderer(database_url)
    async with serving(database_url, seeds_copy, renderer) as (store, library):
        await store.subscriptions.subscribe(1, chat_type="private", title=None)
        v2 = await publish_an_edit(library, edit_digest)
        try:
            outcome = await library.rollback(ADMIN)
        finally:
            if renderer.thread is not None:
                renderer.thread.join(60)
        # The other replica was not kept waiting while the correction was prepared...
        assert renderer.waited_for
        [elsewhere] = renderer.published
        # ...and its version stays current: the rollback changed nothing, and says so.
        assert outcome.moved
        assert outcome.restored is None
        assert outcome.current == library.version == v2
        assert await store.versions.current_version() == elsewhere
        progress = await store.ledger.latest_broadcast()
        assert progress is not None
        assert (progress.kind, progress.version_id) == ("update", v2.id)


async def test_a_rollback_from_a_version_published_elsewhere(
    database_url: str, seeds_copy: Path, edit_digest: EditDigest
) -> None:
    original = load_digest(seeds_copy)
    async with serving(database_url, seeds_copy) as (store, library):
        v2 = await publish_an_edit(library, edit_digest)
        # Another replica puts the original text back; this one still serves version 2.
        elsewhere = await publish_elsewhere(store, original.digest_text, original.article.text)
        outcome = await library.rollback(ADMIN)
        assert outcome.restored == library.version == v2
        assert outcome.diff is not None
        assert outcome.diff.count == 1  # from what the other replica made current
        assert await store.versions.current_version() == v2
        assert elsewhere.replaces_version_id == v2.id


async def test_a_version_that_no_longer_validates_is_not_restored(
    database_url: str, seeds_copy: Path
) -> None:
    digest = load_digest(seeds_copy)
    async with serving(database_url, seeds_copy) as (store, library):
        # Stored by an older release whose rules were looser, then replaced by the file.
        broken = await publish_elsewhere(store, "title: no longer valid\n", digest.article.text)
        current = await publish_elsewhere(store, digest.digest_text, digest.article.text)
        outcome = await library.rollback(ADMIN)
        assert outcome.unservable == broken.id
        assert outcome.restored is None
        assert await store.versions.current_version() == current


def test_the_admin_is_told_to_try_again() -> None:
    current = Version(2, "f" * 64, "", "", datetime.now(UTC), None, "reload")
    text = Renderer().text(
        "rollback.html",
        version=None,
        current=current,
        unservable=None,
        moved=True,
        diff=None,
        recipients=0,
    )
    assert "Nothing was changed; send /rollback again" in text


async def test_the_unanswered_list_puts_open_questions_before_answered_ones(
    database_url: str, seeds_copy: Path
) -> None:
    # An answered question keeps its count; it must not crowd out one still open.
    async with serving(database_url, seeds_copy) as (store, library):
        for _ in range(5):
            await store.unanswered.record("How many migrants does China have to take back?")
        await store.unanswered.record("Who won the football match?")
        listed = await library.unanswered(1)
    assert [question.text for question in listed.open] == ["Who won the football match?"]
    [answered] = listed.answered
    assert answered.question.count == 5
    assert answered.paragraph == library.answers.answer(answered.question.text).paragraph
