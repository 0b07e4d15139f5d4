"""Story Brief: a Telegram bot that briefs people on one news story.

The package is split in two halves:

* a Telegram-free domain (:mod:`bot.digest`, :mod:`bot.render`, :mod:`bot.markup`,
  :mod:`bot.answers`, :mod:`bot.library`, :mod:`bot.store`, :mod:`bot.delivery`), where the
  rules live and the tests go deep;
* the Telegram glue (:mod:`bot.chat`), thin handlers wired by one composition root,
  :func:`bot.chat.app.build_application`, which ``python -m bot``, the console and the
  tests share.
"""

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent


def _bundled(name: str) -> Path:
    """A data folder: inside the package when installed from a wheel, else the checkout's."""
    inside = PACKAGE_DIR / name
    return inside if inside.is_dir() else PACKAGE_DIR.parent / name


TEMPLATES_DIR = _bundled("templates")
SEEDS_DIR = _bundled("seeds")
DEFAULT_DIGEST_PATH = SEEDS_DIR / "digest.yaml"
