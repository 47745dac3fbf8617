"""A fact: a small class that says how it is gathered (the collector group and the
bundle sections it reads) and how its raw output is parsed.

Facts are parsed once per bundle (`Facts.get` keeps the result) and read by the audit's
rules, the account check and the hardening guards alike: one parser per fact.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar

if TYPE_CHECKING:
    from mzops.facts import Facts

T = TypeVar("T")


class FactError(ValueError):
    """Collected output that cannot be what its program prints (a damaged row): the
    rules that read it are errors naming it."""


class Fact(Generic[T]):
    group: ClassVar[str] = ""                  # the collector group that gathers it
    sections: ClassVar[tuple[str, ...]] = ()   # bundle sections it reads ("file:/etc/passwd", "shadow")

    def parse(self, facts: Facts) -> T:
        raise NotImplementedError


class fact(Generic[T]):
    """A Facts attribute that is the parsed value of one Fact class."""

    def __init__(self, cls: type[Fact[T]]):
        self.cls = cls

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, facts: Any, owner: type | None = None) -> T:
        if facts is None:
            return self  # type: ignore[return-value]
        return facts.get(self.cls)
