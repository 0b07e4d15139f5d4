"""``python -m tests.benchmarks``: see :mod:`tests.benchmarks.suite`."""

from tests.benchmarks.suite import main

raise SystemExit(main())
