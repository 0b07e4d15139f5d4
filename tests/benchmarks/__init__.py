"""Story Brief's performance benchmarks (``python -m tests.benchmarks``; see README.md here).

Not collected by pytest: no module here is named ``test_*``. ``tests/test_benchmarks_smoke.py``
runs a tiny version of the suite in the default test run.
"""
