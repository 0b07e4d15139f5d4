"""YAML parsing that remembers the line of every value, for ``file:line`` problems."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

Location = tuple[str | int, ...]


@dataclass
class YamlSource:
    """A parsed YAML document and the 1-based line where each value starts."""

    path: Path
    data: Any
    text: str = ""
    lines: dict[Location, int] = field(default_factory=dict)
    duplicate_keys: list[tuple[Location, int]] = field(default_factory=list)

    def line_of(self, location: Location) -> int:
        """The line of ``location``, or of its nearest ancestor that has one."""
        while location:
            if location in self.lines:
                return self.lines[location]
            location = location[:-1]
        return self.lines.get((), 1)


class YamlSyntaxError(Exception):
    """The text is not YAML; ``line`` and ``detail`` say where and why."""

    def __init__(self, line: int, detail: str) -> None:
        super().__init__(f"line {line}: {detail}")
        self.line = line
        self.detail = detail


def parse_yaml(path: Path, text: str) -> YamlSource:
    """Parse one YAML document with the safe loader, recording lines as it goes."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as error:
        line, detail = explain_syntax_error(text, error)
        raise YamlSyntaxError(line, detail) from error
    except yaml.YAMLError as error:  # pragma: no cover - every parser error is marked
        raise YamlSyntaxError(1, str(error)) from error
    source = YamlSource(path=path, data=None, text=text)
    if node is not None:
        # A constructor per parse: it caches what it builds, and a shared one would grow
        # with every /reload.
        source.data = _construct(node, (), source, yaml.constructor.SafeConstructor())
    return source


def explain_syntax_error(text: str, error: yaml.MarkedYAMLError) -> tuple[int, str]:
    """The line where the mistake most likely is, and what it is, in plain words.

    PyYAML reports where it gave up, which for an unclosed quote or bracket can be the end of
    the file; where the cause is known (the opening quote or bracket, a line with no colon)
    that line is named instead.
    """
    context = error.context or ""
    problem = error.problem or ""
    at = error.problem_mark or error.context_mark
    line = at.line + 1 if at else 1
    opened = error.context_mark.line + 1 if error.context_mark else line
    if "quoted scalar" in context and "end of stream" in problem:
        return opened, "a quoted value starts here and its closing quote mark is missing"
    if context.startswith("while parsing a flow"):
        bracket = "[" if "sequence" in context else "{"
        closing = "]" if bracket == "[" else "}"
        if opened < line:
            return opened, f"the `{bracket}` opened here is not closed by a `{closing}`"
        return line, f"inside `{bracket}…{closing}`: {_plain(problem)}"
    if "cannot start any token" in problem and "'\\t'" in problem and at is not None:
        before = text.splitlines()[at.line][: at.column] if text else ""
        if before.strip():
            return line, "a tab is used where YAML needs a space"
        return line, "a tab is used for indentation: YAML indents with spaces only"
    if "simple key" in context and "expected ':'" in problem:
        return opened, "this line has no `:`: a key and its value are written `key: value`"
    if "mapping values are not allowed" in problem:
        return _misplaced_colon(text, line)
    if "single document" in context:
        return line, "a second document starts here (`---`): a digest is one document"
    runaway = _runaway_quote(text, line)
    if runaway is not None:
        return (
            runaway,
            "a quoted value starts here and runs on over lines: is its closing quote missing?",
        )
    if "block mapping" in context or "block collection" in context:
        if "<block end>" in problem:
            return line, "this line is indented differently from the lines above it: line it up"
        return line, f"this line does not fit the lines above it: {_plain(problem)}"
    detail = " ".join(part for part in (context, problem) if part)
    return line, detail or "not valid YAML"


def _plain(problem: str) -> str:
    """PyYAML's token names in everyday words."""
    return (
        problem.replace("<block end>", "the end of the block")
        .replace("'<scalar>'", "a value")
        .replace("<scalar>", "a value")
        .replace("'<block mapping start>'", "a new block of keys")
    )


def _misplaced_colon(text: str, line: int) -> tuple[int, str]:
    """A colon PyYAML did not expect on ``line`` ("mapping values are not allowed here")."""
    lines = text.splitlines()
    current = lines[line - 1] if line <= len(lines) else ""
    if re.match(r"\s*(?:-\s+)?[^\s:#][^:#]*:\s+\S[^#]*:(?:\s|$)", current):
        return line, 'a value with `: ` in it must be quoted, like `key: "a: b"`'
    # A plain value runs on over lines, so a key that lost its colon joins the next line and
    # PyYAML stumbles on the colon there: the mistake is the line above.
    previous = line - 2
    while previous >= 0 and (
        not lines[previous].strip() or lines[previous].lstrip().startswith("#")
    ):
        previous -= 1
    if (
        previous >= 0
        and ":" not in lines[previous]
        and _indent(lines[previous]) == _indent(current)
    ):
        return previous + 1, "this line has no `:`: a key and its value are written `key: value`"
    # The line continues the value above it, and a plain value cannot hold ": ": either this
    # key is indented too far, or the value above needs quotes (or a `>-` block).
    return line, (
        "this line reads as part of the value above it, which cannot hold `: `: line the key "
        "up with the keys above, or quote the value"
    )


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" -"))


def _runaway_quote(text: str, line: int) -> int | None:
    """The line of a quoted value that spans lines and ends just before ``line``, if any: a
    missing closing quote makes the next quote mark close it, and the parse fail after."""
    tokens: list[yaml.Token] = []
    try:
        for token in yaml.scan(text, Loader=yaml.SafeLoader):
            tokens.append(token)
    except yaml.YAMLError:
        pass
    for token in reversed(tokens):
        if token.start_mark.line + 1 > line:
            continue
        if isinstance(token, yaml.ScalarToken) and token.style in ("'", '"'):
            runs_on = token.end_mark.line > token.start_mark.line
            return (
                token.start_mark.line + 1 if runs_on and token.end_mark.line + 1 == line else None
            )
    return None


def _construct(
    node: yaml.Node,
    location: Location,
    source: YamlSource,
    scalars: yaml.constructor.SafeConstructor,
) -> Any:
    source.lines[location] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        mapping: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = (
                scalars.construct_object(key_node)
                if isinstance(key_node, yaml.ScalarNode)
                else None
            )
            if not isinstance(key, str | int):
                raise YamlSyntaxError(key_node.start_mark.line + 1, "keys must be plain scalars")
            child = (*location, key)
            if key in mapping:
                source.duplicate_keys.append((child, key_node.start_mark.line + 1))
            mapping[key] = _construct(value_node, child, source, scalars)
        return mapping
    if isinstance(node, yaml.SequenceNode):
        return [
            _construct(item, (*location, index), source, scalars)
            for index, item in enumerate(node.value)
        ]
    return scalars.construct_object(node)
