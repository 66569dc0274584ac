"""authentik's pagination: page numbers, a page size capped at 100, and its envelope."""

import math

from app import errors

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100


class Paginator:
    def __init__(self, page: int | None, page_size: int | None):
        self.page = 1 if page is None else page
        self.size = DEFAULT_PAGE_SIZE if page_size is None else min(page_size, MAX_PAGE_SIZE)
        self.count = 0

    @property
    def total_pages(self) -> int:
        return max(1, math.ceil(self.count / self.size))

    def window(self, count: int) -> tuple[int, int]:
        """(offset, limit) of this page among `count` results; 404 if there is no such page."""
        self.count = count
        if not 1 <= self.page <= self.total_pages:
            raise errors.detail(404, errors.INVALID_PAGE)
        return (self.page - 1) * self.size, self.size

    def envelope(self, results: list) -> dict:
        start = (self.page - 1) * self.size + 1 if self.count else 0
        return {
            "pagination": {
                "next": self.page + 1 if self.page < self.total_pages else 0,
                "previous": self.page - 1 if self.page > 1 else 0,
                "count": self.count,
                "current": self.page,
                "total_pages": self.total_pages,
                "start_index": start,
                "end_index": start + len(results) - 1 if results else 0,
            },
            "results": results,
            "autocomplete": {},
        }
