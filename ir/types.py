"""Column types and relation schemas, shared by the checker, the IR and every backend."""
from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class Type(Enum):
    INT = "int"
    FLOAT = "float"
    STR = "str"
    BOOL = "bool"
    ADDR = "addr"

    def __str__(self) -> str:
        return self.value

    @property
    def numeric(self) -> bool:
        return self in (Type.INT, Type.FLOAT)

    @property
    def text(self) -> bool:
        """Held as a string: `str`, and `addr` (an agent's address "Name/key", LANGUAGE.md §8),
        which backends store exactly as they store strings (dictionary-encoded columns)."""
        return self in (Type.STR, Type.ADDR)


BASE_TYPES = {t.value: t for t in Type}
LATTICE_OPS = ("min", "max")


@dataclass(frozen=True)
class Column:
    """One column of a relation; `lattice` is "min"/"max" for a lattice column, else None."""

    name: str
    type: Type
    lattice: str | None = None

    def __str__(self) -> str:
        t = f"{self.lattice}<{self.type}>" if self.lattice else str(self.type)
        return f"{self.name}: {t}"


@dataclass(frozen=True)
class Schema:
    columns: tuple[Column, ...]

    @property
    def arity(self) -> int:
        return len(self.columns)

    @property
    def types(self) -> tuple[Type, ...]:
        return tuple(c.type for c in self.columns)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    @property
    def key_arity(self) -> int:
        """How many leading plain columns form the key of a lattice relation."""
        return sum(1 for c in self.columns if c.lattice is None)

    @property
    def lattices(self) -> tuple[str, ...]:
        return tuple(c.lattice for c in self.columns if c.lattice is not None)

    @property
    def is_lattice(self) -> bool:
        return any(c.lattice for c in self.columns)

    def __str__(self) -> str:
        return "(" + ", ".join(str(c) for c in self.columns) + ")"


def storage_of(kinds) -> str:
    """How a relation lives across ticks: table, channel, or rel (recomputed each tick)."""
    for k in ("table", "channel"):
        if k in kinds:
            return k
    return "rel"
