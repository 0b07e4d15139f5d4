"""Where a profiled bot spends its time: a summary of py-spy's raw (collapsed) stacks.

``python -m tests.benchmarks --py-spy DIR`` leaves one file per bot process in DIR;
``python -m tests.benchmarks.hotspots DIR/<run>.txt [--match bot/] [--top 40]`` prints the
frames with the largest share of samples, inclusive (the frame or anything it called) and
self (the frame itself), each as ``function (file:line)``.
"""

from __future__ import annotations

import argparse
import collections
import re
from collections.abc import Sequence
from pathlib import Path

_LINE = re.compile(r":\d+\)$")


def summarize(path: Path, *, match: str | None = None, top: int = 40, by_line: bool = False) -> str:
    """Inclusive and self shares of the frames in py-spy's raw output at ``path``."""
    inclusive: collections.Counter[str] = collections.Counter()
    own: collections.Counter[str] = collections.Counter()
    total = 0
    for line in path.read_text(encoding="utf-8").splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        samples = int(count)
        total += samples
        frames = stack.split(";")
        keys = frames if by_line else [_LINE.sub(")", frame) for frame in frames]
        for key in dict.fromkeys(keys):  # a recursive frame counts once per sample
            inclusive[key] += samples
        own[frames[-1]] += samples
    pattern = re.compile(match) if match else None
    lines = [f"{path}: {total} samples"]
    for title, counter in (("inclusive", inclusive), ("self", own)):
        lines.append(f"-- {title}")
        shown = 0
        for frame, samples in counter.most_common():
            if pattern is not None and not pattern.search(frame):
                continue
            lines.append(f"{100 * samples / max(total, 1):5.1f}%  {frame}")
            shown += 1
            if shown >= top:
                break
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.benchmarks.hotspots")
    parser.add_argument("profile", type=Path, help="a raw py-spy file from --py-spy")
    parser.add_argument("--match", help="only frames matching this regular expression")
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument(
        "--lines", action="store_true", help="inclusive shares per line, not per function"
    )
    arguments = parser.parse_args(argv)
    print(
        summarize(
            arguments.profile, match=arguments.match, top=arguments.top, by_line=arguments.lines
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
