"""Story Brief: a Telegram bot that briefs people on one news story.

The package is split in two halves:

* a Telegram-free domain (:mod:`bot.digest`, :mod:`bot.render`), where the rules live and
  the tests go deep;
* the Telegram glue (:mod:`bot.telegram`), thin handlers wired by one composition root,
  :func:`bot.telegram.app.build_application`, which ``python -m bot`` and the tests share.
"""

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
PROJECT_DIR = PACKAGE_DIR.parent
TEMPLATES_DIR = PROJECT_DIR / "templates"
SEEDS_DIR = PROJECT_DIR / "seeds"
DEFAULT_DIGEST_PATH = SEEDS_DIR / "digest.yaml"
