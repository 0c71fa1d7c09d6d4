"""A table's search, sort and page as query parameters: the links a listing page needs.

Server-side, so every table works without JavaScript and every view has an address to
bookmark or send. `sort=name` sorts ascending, `sort=-name` descending; a key the page does
not offer falls back to its default (a hand-edited URL is never an error). Links leave out
what is empty or the default, so the plain page keeps its plain address.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlencode


@dataclass(frozen=True, slots=True)
class Sort:
    """The sort a page was asked for, among the keys it offers."""

    key: str
    descending: bool

    @classmethod
    def parse(cls, value: str, keys: tuple[str, ...], default: str) -> Sort:
        """`value` as asked (`name`, `-issued`), or `default` when it names no key in `keys`."""
        chosen = value if value.removeprefix("-") in keys else default
        return cls(chosen.removeprefix("-"), chosen.startswith("-"))

    def __str__(self) -> str:
        return f"-{self.key}" if self.descending else self.key


@dataclass(frozen=True, slots=True)
class Listing:
    """Where a table is (its path, filters, sort, page) and where each of its links goes."""

    path: str
    filters: dict[str, str]
    sort: Sort
    default_sort: str
    page: int = 1
    has_next: bool = False
    pages: int | None = None  # None when counting every row would cost too much
    descending_first: tuple[str, ...] = field(default=())  # dates: newest first on a click

    def url(self, *, page: int | None = None, sort: str | None = None) -> str:
        """This table with another page or sort (a new sort starts at page 1)."""
        chosen = sort if sort is not None else str(self.sort)
        params = {k: v for k, v in self.filters.items() if v}
        if chosen != self.default_sort:
            params["sort"] = chosen
        if page is not None:
            params["page"] = str(page)
        return f"{self.path}?{urlencode(params)}" if params else self.path

    def sort_url(self, key: str) -> str:
        """The header link of column `key`: the other direction if the table is sorted by it."""
        if key == self.sort.key:
            return self.url(sort=str(Sort(key, not self.sort.descending)))
        return self.url(sort=str(Sort(key, key in self.descending_first)))

    def aria_sort(self, key: str) -> str:
        if key != self.sort.key:
            return "none"
        return "descending" if self.sort.descending else "ascending"

    @property
    def filtered(self) -> bool:
        return any(self.filters.values())
