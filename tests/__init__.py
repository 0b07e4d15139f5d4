"""The tests: ``unit/`` mirrors ``bot/`` (the Telegram-free domain), ``e2e/`` runs the
application over HTTP against the Bot API double or runs the real process."""

from pathlib import Path

TESTS_DIR = Path(__file__).resolve().parent
REPO_ROOT = TESTS_DIR.parent
DATA_DIR = TESTS_DIR / "data"
