"""A drafted item: the fields the digest schema knows, and what the editor should check."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Drafted:
    """One item of a digest section, as drafted, with ``# check:`` notes for the editor."""

    fields: dict[str, Any]
    notes: list[str] = field(default_factory=list)

    @property
    def cite(self) -> list[int]:
        cite: list[int] = self.fields["cite"]
        return cite
