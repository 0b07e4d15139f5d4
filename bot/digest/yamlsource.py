"""YAML parsing that remembers the line of every value, for ``file:line`` problems."""

from __future__ import annotations

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
        mark = error.problem_mark or error.context_mark
        line = mark.line + 1 if mark else 1
        detail = " ".join(part for part in (error.context, error.problem) if part)
        raise YamlSyntaxError(line, detail or "not valid YAML") from error
    except yaml.YAMLError as error:  # pragma: no cover - every parser error is marked
        raise YamlSyntaxError(1, str(error)) from error
    source = YamlSource(path=path, data=None)
    if node is not None:
        # A constructor per parse: it caches what it builds, and a shared one would grow
        # with every /reload.
        source.data = _construct(node, (), source, yaml.constructor.SafeConstructor())
    return source


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
