"""The Bot API specification (methods, parameters, types) and checks of calls against it.

The spec is ``telegram-bot-api-spec.json`` beside this file (Bot API 10.1, machine-readable;
MIT licence in ``telegram-bot-api-spec.LICENSE``). Its format::

    {"version": ..., "methods": {name: {"name", "fields": [{"name", "types", "required",
     "description"}], "returns"}}, "types": {name: {"fields": [...]} or {"subtypes": [...]}}}
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["SPEC_PATH", "BotApiSpec", "FieldSpec", "UploadedFile", "load_spec"]

SPEC_PATH = Path(__file__).with_name("telegram-bot-api-spec.json")

_ARRAY = "Array of "
_PRIMITIVES = frozenset({"Integer", "String", "Boolean", "Float", "True", "InputFile"})
# Fields of InlineKeyboardButton that are not its "action" (exactly one action is required).
_BUTTON_DECORATIONS = frozenset({"text", "icon_custom_emoji_id", "style"})
_COMMAND = re.compile(r"[a-z0-9_]{1,32}")
_CONSTANT = re.compile(r"(?:always|must be) \"?([a-z_]+)\"?\s*$")
_DISCRIMINATORS = frozenset({"type", "source", "status"})
_INTEGER = re.compile(r"-?[0-9]+")
_MAX_DEPTH = 24


@dataclass(frozen=True)
class FieldSpec:
    """One parameter of a method, or one field of a type."""

    name: str
    types: tuple[str, ...]
    required: bool
    description: str = ""


@dataclass(frozen=True)
class UploadedFile:
    """A file part of a ``multipart/form-data`` request."""

    filename: str
    content_type: str
    data: bytes


_KINDS: tuple[tuple[type, str], ...] = (
    (bool, "Boolean"),
    (int, "Integer"),
    (float, "Float"),
    (str, "String"),
    (list, "Array"),
    (dict, "object"),
    (UploadedFile, "file"),
)


def _kind(value: Any) -> str:
    """The Bot API kind of a decoded JSON value."""
    # bool before int: a bool is an int to isinstance.
    for kind, name in _KINDS:
        if isinstance(value, kind):
            return name
    return type(value).__name__


def _describe(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, default=repr)
    if len(text) > 60:
        text = text[:57] + "..."
    return f"{_kind(value)} {text}"


def _accepted_kinds(type_name: str) -> frozenset[str]:
    if type_name.startswith(_ARRAY):
        return frozenset({"Array"})
    return {
        "Integer": frozenset({"Integer"}),
        "String": frozenset({"String"}),
        "Boolean": frozenset({"Boolean"}),
        "True": frozenset({"Boolean"}),
        "Float": frozenset({"Integer", "Float"}),
        "InputFile": frozenset({"String", "file"}),
    }.get(type_name, frozenset({"object"}))


class BotApiSpec:
    """The Bot API spec, with checks of method calls against it."""

    def __init__(self, path: Path = SPEC_PATH) -> None:
        raw: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        self.version: str = raw["version"]
        self.methods: dict[str, dict[str, FieldSpec]] = {
            name: self._fields(method) for name, method in raw["methods"].items()
        }
        self.types: dict[str, dict[str, FieldSpec]] = {}
        self.subtypes: dict[str, tuple[str, ...]] = {}
        for name, type_spec in raw["types"].items():
            if "subtypes" in type_spec:
                self.subtypes[name] = tuple(type_spec["subtypes"])
            self.types[name] = self._fields(type_spec)
        self._by_lower_name = {name.lower(): name for name in self.methods}

    @staticmethod
    def _fields(spec: Mapping[str, Any]) -> dict[str, FieldSpec]:
        return {
            item["name"]: FieldSpec(
                item["name"],
                tuple(item["types"]),
                bool(item["required"]),
                item.get("description", ""),
            )
            for item in spec.get("fields", [])
        }

    # -- methods --------------------------------------------------------------------------

    def canonical_method(self, name: str) -> str | None:
        """The spec's spelling of a method name (the Bot API ignores case), or None."""
        return self._by_lower_name.get(name.lower())

    def has_method(self, name: str) -> bool:
        return self.canonical_method(name) is not None

    def method_fields(self, name: str) -> dict[str, FieldSpec]:
        canonical = self.canonical_method(name)
        if canonical is None:
            raise KeyError(name)
        return self.methods[canonical]

    def coerce(self, method: str, params: Mapping[str, Any]) -> dict[str, Any]:
        """Decode the values of a request the way the Bot API does.

        Form and query values arrive as strings; JSON-encoded ones (numbers, booleans,
        arrays, objects) are decoded for parameters the spec types as non-String; Strings
        stay strings. ``null`` values count as absent.
        """
        canonical = self.canonical_method(method)
        fields = self.methods[canonical] if canonical is not None else {}
        decoded: dict[str, Any] = {}
        for name, value in params.items():
            if value is None:
                continue
            field_spec = fields.get(name)
            if field_spec is None or not isinstance(value, str):
                decoded[name] = value
            else:
                decoded[name] = self._coerce_value(value, field_spec.types)
        return decoded

    @staticmethod
    def _coerce_value(value: str, types: Sequence[str]) -> Any:
        if "String" in types or "InputFile" in types:
            if "Integer" in types and _INTEGER.fullmatch(value.strip()):
                return int(value)
            return value
        try:
            return json.loads(value)
        except ValueError:
            return value

    def validate(self, method: str, params: Mapping[str, Any]) -> list[str]:
        """Every problem of a call (already decoded with :meth:`coerce`), as plain details.

        Checks: the method exists, required parameters are present, there are no unknown
        parameters, values have the spec's types (nested objects too), inline keyboards and
        bot commands follow Telegram's rules.
        """
        canonical = self.canonical_method(method)
        if canonical is None:
            return [f'method "{method}" does not exist in {self.version}']
        fields = self.methods[canonical]
        problems = [
            f'missing required parameter "{name}"'
            for name, field_spec in fields.items()
            if field_spec.required and name not in params
        ]
        for name, value in params.items():
            field_spec = fields.get(name)
            if field_spec is None:
                problems.append(f'unknown parameter "{name}"')
            else:
                problems.extend(self.check_value(value, field_spec.types, name))
        problems.extend(self._method_rules(canonical, fields, params))
        return problems

    @staticmethod
    def _method_rules(
        method: str, fields: Mapping[str, FieldSpec], params: Mapping[str, Any]
    ) -> list[str]:
        problems: list[str] = []
        if {"chat_id", "message_id", "inline_message_id"} <= fields.keys() and not fields[
            "message_id"
        ].required:
            has_inline = "inline_message_id" in params
            has_chat_message = "chat_id" in params and "message_id" in params
            if has_inline == has_chat_message:
                problems.append("pass either chat_id and message_id, or inline_message_id")
        if method == "setMyCommands":
            commands = params.get("commands")
            if isinstance(commands, list) and not 1 <= len(commands) <= 100:
                problems.append(
                    f"commands must hold 1-100 commands, not {len(commands)} "
                    "(use deleteMyCommands to clear them)"
                )
        return problems

    # -- values ---------------------------------------------------------------------------

    def check_value(
        self, value: Any, types: Sequence[str], where: str, depth: int = 0
    ) -> list[str]:
        """Problems of ``value`` against a union of spec types (empty when it fits one)."""
        candidates = self._expand(types)
        kind = _kind(value)
        fitting = [name for name in candidates if kind in _accepted_kinds(name)]
        if not fitting:
            return [f"{where} must be {' or '.join(types)}, got {_describe(value)}"]
        best: tuple[bool, int] | None = None
        best_problems: list[str] = []
        for type_name in fitting:
            problems = self._check_one(value, type_name, where, depth)
            if not problems:
                return []
            # Prefer the candidate whose "type" field names it, then the fewest problems.
            rank = (not self._discriminator_matches(value, type_name), len(problems))
            if best is None or rank < best:
                best, best_problems = rank, problems
        return best_problems

    def _discriminator_matches(self, value: Any, type_name: str) -> bool:
        if not isinstance(value, dict):
            return True
        for name, item_spec in self.types.get(type_name, {}).items():
            constant = self._constant(name, item_spec)
            if constant is not None and value.get(name) != constant:
                return False
        return True

    @staticmethod
    def _constant(name: str, item_spec: FieldSpec) -> str | None:
        """The fixed value of a discriminator field ("type": always "chat"), if it is one."""
        if name not in _DISCRIMINATORS or item_spec.types != ("String",):
            return None
        match = _CONSTANT.search(item_spec.description)
        return match.group(1) if match is not None else None

    def _expand(self, types: Sequence[str]) -> list[str]:
        expanded: list[str] = []
        for type_name in types:
            if type_name in self.subtypes:
                expanded.extend(self._expand(self.subtypes[type_name]))
            else:
                expanded.append(type_name)
        return expanded

    def _check_one(self, value: Any, type_name: str, where: str, depth: int) -> list[str]:
        if depth > _MAX_DEPTH:
            return []
        if type_name.startswith(_ARRAY):
            item_type = type_name[len(_ARRAY) :]
            problems: list[str] = []
            for index, item in enumerate(value):
                problems.extend(self.check_value(item, [item_type], f"{where}[{index}]", depth + 1))
            return problems
        if type_name == "True" and value is not True:
            return [f"{where} must be True"]
        if type_name in _PRIMITIVES:
            return []
        fields = self.types.get(type_name)
        if fields is None:
            return [f"{where}: unknown type {type_name} in the spec"]
        return self._check_object(value, type_name, fields, where, depth)

    def _check_object(
        self,
        value: dict[str, Any],
        type_name: str,
        fields: Mapping[str, FieldSpec],
        where: str,
        depth: int,
    ) -> list[str]:
        if not fields:  # placeholder types such as CallbackGame take any object
            return []
        problems: list[str] = []
        for name, field_spec in fields.items():
            if field_spec.required and name not in value:
                problems.append(f'{where} ({type_name}): missing required field "{name}"')
        for name, item in value.items():
            item_spec = fields.get(name)
            if item_spec is None:
                problems.append(f'{where} ({type_name}): unknown field "{name}"')
                continue
            problems.extend(self.check_value(item, item_spec.types, f"{where}.{name}", depth + 1))
            constant = self._constant(name, item_spec)
            if constant is not None and item != constant:
                problems.append(f'{where}.{name} must be "{constant}" for {type_name}')
        if type_name == "InlineKeyboardButton":
            problems.extend(self._button_rules(value, fields, where))
        elif type_name == "BotCommand":
            problems.extend(self._command_rules(value, where))
        return problems

    @staticmethod
    def _button_rules(
        button: Mapping[str, Any], fields: Mapping[str, FieldSpec], where: str
    ) -> list[str]:
        problems: list[str] = []
        actions = sorted(name for name in button if name in fields.keys() - _BUTTON_DECORATIONS)
        if len(actions) != 1:
            found = ", ".join(actions) or "none"
            problems.append(
                f"{where}: an inline keyboard button needs exactly one action field "
                f"(callback_data, url, ...); found {found}"
            )
        data = button.get("callback_data")
        if isinstance(data, str) and not 1 <= len(data.encode("utf-8")) <= 64:
            problems.append(
                f"{where}.callback_data must be 1-64 bytes, "
                f"not {len(data.encode('utf-8'))}: {data[:40]!r}"
            )
        if isinstance(button.get("text"), str) and not button["text"].strip():
            problems.append(f"{where}.text must not be empty")
        return problems

    @staticmethod
    def _command_rules(command: Mapping[str, Any], where: str) -> list[str]:
        problems: list[str] = []
        name = command.get("command")
        if isinstance(name, str) and not _COMMAND.fullmatch(name):
            problems.append(
                f"{where}.command must be 1-32 characters of a-z, 0-9 and _, not {name!r}"
            )
        description = command.get("description")
        if isinstance(description, str) and not 1 <= len(description) <= 256:
            problems.append(f"{where}.description must be 1-256 characters, not {len(description)}")
        return problems


@functools.cache
def load_spec(path: Path = SPEC_PATH) -> BotApiSpec:
    """The spec, loaded once per path."""
    return BotApiSpec(path)
