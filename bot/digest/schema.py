"""Schema errors in plain words: what key is wrong, and what the editor should write instead.

Pydantic says "Extra inputs are not permitted" and "Field required"; an editor wants to
hear "unknown key `cite_` — did you mean `cite`?". A misspelled key is one mistake, so the
"missing key" that pydantic also reports for it is folded into the "did you mean" line.
"""

from __future__ import annotations

import types
from dataclasses import dataclass
from difflib import get_close_matches
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel
from pydantic_core import ErrorDetails

from bot.digest.problems import Rule
from bot.digest.yamlsource import Location


@dataclass(frozen=True)
class SchemaProblem:
    """One schema mistake: where it is in the YAML, which rule, and what to do about it."""

    location: Location
    rule: Rule
    detail: str


def schema_problems(
    model: type[BaseModel], data: Any, errors: list[ErrorDetails]
) -> list[SchemaProblem]:
    """Turn pydantic's ``errors`` for ``data`` (validated as ``model``) into plain problems."""
    missing: dict[Location, set[str]] = {}
    unknown: dict[Location, list[str]] = {}
    for error in errors:
        location = tuple(error["loc"])
        if error["type"] == "missing" and isinstance(location[-1], str):
            missing.setdefault(location[:-1], set()).add(location[-1])
        elif error["type"] == "extra_forbidden" and isinstance(location[-1], str):
            unknown.setdefault(location[:-1], []).append(location[-1])

    found: list[SchemaProblem] = []
    explained_missing: set[tuple[Location, str]] = set()
    for parent, keys in unknown.items():
        fields = _fields(model, parent)
        given = _value_at(data, parent)
        absent = [name for name in fields if not isinstance(given, dict) or name not in given]
        for key in keys:
            guess = get_close_matches(key, absent, n=1, cutoff=0.6)
            given_already = get_close_matches(key, fields, n=1, cutoff=0.6)
            if guess:
                explained_missing.add((parent, guess[0]))
                hint = f" — did you mean `{guess[0]}`?"
            elif given_already:
                hint = f" — a second `{given_already[0]}`? It is given already"
            else:
                hint = f": the keys here are {', '.join(fields)}" if fields else ""
            found.append(
                SchemaProblem(
                    (*parent, key), "unknown-key", f"unknown key `{key}`{_in(parent)}{hint}"
                )
            )
    for parent, names in missing.items():
        for key in sorted(names):
            if (parent, key) not in explained_missing:
                found.append(
                    SchemaProblem(parent, "missing-key", f"missing key `{key}`{_in(parent)}")
                )

    citations_done: set[Location] = set()
    for error in errors:
        if error["type"] in ("missing", "extra_forbidden"):
            continue
        location = tuple(error["loc"])
        citation = _citation_prefix(model, location)
        if citation is not None:
            if citation not in citations_done:
                citations_done.add(citation)
                found.append(_citation_problem(citation, _value_at(data, citation)))
            continue
        found.append(_value_problem(model, location, error))
    return found


def _citation_problem(location: Location, value: Any) -> SchemaProblem:
    name = f"`{dotted(location)}`"
    if value == []:
        return SchemaProblem(
            location, "invalid-value", f"{name} is empty: cite at least one paragraph, like [3]"
        )
    items = value if isinstance(value, list) else []
    wrong = [item for item in items if isinstance(item, bool) or not isinstance(item, int)]
    found = f"{_shown(wrong[0])} is not a paragraph number" if wrong else f"not {_shown(value)}"
    return SchemaProblem(
        location, "wrong-type", f"{name} should be a list of paragraph numbers, like [3]: {found}"
    )


def _value_problem(
    model: type[BaseModel], location: Location, error: ErrorDetails
) -> SchemaProblem:
    name = f"`{dotted(location)}`" if location else "the digest"
    value = error["input"]
    kind = error["type"]
    if kind == "string_type" and value is None:
        return SchemaProblem(location, "wrong-type", f"{name} has no value: write one")
    if kind == "string_type":
        return SchemaProblem(
            location, "wrong-type", f"{name} should be text, not {_kind_of(value)}"
        )
    if kind == "string_too_short":
        return SchemaProblem(location, "invalid-value", f"{name} is empty: write some text")
    if kind == "bool_type":
        return SchemaProblem(
            location, "wrong-type", f"{name} should be true or false, not {_shown(value)}"
        )
    if kind == "list_type":
        return SchemaProblem(
            location,
            "wrong-type",
            f"{name} should be a list, one item per line starting with `- `, not {_kind_of(value)}",
        )
    if kind in ("model_type", "dict_type"):
        fields = _fields(model, location)
        example = f" (like `{fields[0]}: …`)" if fields else ""
        return SchemaProblem(
            location,
            "wrong-type",
            f"{name} should be a mapping of keys{example}, not {_kind_of(value)}",
        )
    if kind == "literal_error":
        expected = str(error.get("ctx", {}).get("expected", "")).replace("'", "")
        return SchemaProblem(
            location,
            "invalid-value",
            f"{name} should be one of {expected}, not {_shown(value)}",
        )
    if kind == "too_short":
        least = int(error.get("ctx", {}).get("min_length", 1))
        items = "one item" if least == 1 else f"{least} items"
        return SchemaProblem(location, "invalid-value", f"{name} needs at least {items}")
    rule: Rule = "wrong-type" if kind.endswith("_type") else "invalid-value"
    return SchemaProblem(location, rule, f"{name}: {error['msg']}")


def _in(parent: Location) -> str:
    return f" in {dotted(parent)}" if parent else ""


def dotted(location: Location) -> str:
    """``quotes[0].cite``: a location as an editor would write it."""
    return "".join(
        f"[{part}]" if isinstance(part, int) else f".{part}" for part in location
    ).lstrip(".")


def _kind_of(value: Any) -> str:
    """What a YAML value is, in the words of someone writing YAML."""
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return f"`{'true' if value else 'false'}`"
    if isinstance(value, int | float):
        return f"a number ({value}): put it in quotes to make it text"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping of keys"
    return type(value).__name__


def _shown(value: Any) -> str:
    if isinstance(value, str | int | float | bool) and len(str(value)) <= 40:
        return f"`{value}`"
    return _kind_of(value)


def _value_at(data: Any, location: Location) -> Any:
    for part in location:
        in_mapping = isinstance(data, dict) and part in data
        in_list = isinstance(data, list) and isinstance(part, int) and 0 <= part < len(data)
        if not (in_mapping or in_list):
            return None
        data = data[part]
    return data


def _unwrap(annotation: Any) -> Any:
    """The type inside ``Annotated``, ``X | None`` and ``list``: one level of the YAML."""
    while True:
        origin = get_origin(annotation)
        if origin is Annotated:
            annotation = get_args(annotation)[0]
        elif origin in (Union, types.UnionType):
            choices = [arg for arg in get_args(annotation) if arg is not type(None)]
            if len(choices) != 1:
                return annotation
            annotation = choices[0]
        else:
            return annotation


def _annotation_at(model: type[BaseModel], location: Location) -> Any:
    """The type the schema expects at ``location``, or None where the schema has no key."""
    annotation: Any = model
    for part in location:
        annotation = _unwrap(annotation)
        if isinstance(part, int):
            if get_origin(annotation) is not list:
                return None
            annotation = get_args(annotation)[0]
        elif isinstance(annotation, type) and issubclass(annotation, BaseModel):
            field = annotation.model_fields.get(part)
            if field is None:
                return None
            annotation = field.annotation
        else:
            return None
    return _unwrap(annotation)


def _fields(model: type[BaseModel], location: Location) -> list[str]:
    """The keys the schema allows in the mapping at ``location`` (for a list, in its items)."""
    annotation = _annotation_at(model, location)
    if get_origin(annotation) is list:
        annotation = _unwrap(get_args(annotation)[0])
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        # `cite` comes first in the model (inherited) but last in every item of the digest.
        return sorted(annotation.model_fields, key=lambda name: name == "cite")
    return []


def _citation_prefix(model: type[BaseModel], location: Location) -> Location | None:
    """The citation (a list of paragraph numbers) that ``location`` is or lies in, if any."""
    for end in range(len(location), 0, -1):
        annotation = _annotation_at(model, location[:end])
        if get_origin(annotation) is list and _unwrap(get_args(annotation)[0]) is int:
            return location[:end]
    return None
