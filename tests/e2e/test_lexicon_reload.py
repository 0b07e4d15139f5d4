"""An edit of the digest's lexicon only: published and served at once, and rolled back,
announced to no one but the admin (readers never see the lexicon)."""

from __future__ import annotations

from bot.config import Settings
from bot.library import DigestLibrary
from tests.botapi import BotApiDouble
from tests.conftest import EditDigest
from tests.e2e import ADMIN, polling, text_of

USER = 7202
REPATRIATE_ENTRY = "  - [repatriate, repatriation, deport, deportation,"


def synonyms(library: DigestLibrary, word: str, other: str) -> bool:
    """Whether the served lexicon makes ``word`` and ``other`` the same terms."""
    return library.answers.lexicon.terms(word) == library.answers.lexicon.terms(other)


async def test_a_lexicon_only_reload_is_served_without_an_update(
    api: BotApiDouble, settings: Settings, edit_digest: EditDigest
) -> None:
    async with polling(api, settings) as application:
        library = application.bot_data.library
        await text_of(api, USER, "/subscribe")
        assert synonyms(library, "deport", "repatriate")

        # Both forms go: the stemmer folds "deportation" and "deport" together.
        edit_digest(REPATRIATE_ENTRY, "  - [repatriate, repatriation,")
        published = await text_of(api, ADMIN, "/reload")
        assert published.startswith(
            "✅ Published version 2. Readers do not see these changes, so no subscriber is told:"
        )
        assert "Lexicon (words for answering questions)" in published
        assert library.version.id == 2
        assert not synonyms(library, "deport", "repatriate")
        stats = await text_of(api, ADMIN, "/stats")
        assert "Current version: 2" in stats
        assert "Last broadcast" not in stats
        assert len(api.messages(USER)) == 1  # the subscription only: no update was sent

        # Undone: no correction either, since no reader saw the change.
        rolled_back = await text_of(api, ADMIN, "/rollback")
        assert rolled_back.startswith(
            "↩️ Version 1 is current again. Readers do not see these changes, so no subscriber"
        )
        assert synonyms(library, "deport", "repatriate")
        assert len(api.messages(USER)) == 1
