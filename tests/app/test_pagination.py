"""app/pagination.py: authentik's page arithmetic and envelope."""

import pytest

from app.errors import APIError
from app.pagination import Paginator


def test_defaults_and_the_cap():
    assert (Paginator(None, None).page, Paginator(None, None).size) == (1, 20)
    assert Paginator(1, 1000).size == 100


def test_a_middle_page():
    paginator = Paginator(2, 10)
    assert paginator.window(25) == (10, 10)
    assert paginator.envelope(list(range(10)))["pagination"] == {
        "next": 3, "previous": 1, "count": 25, "current": 2, "total_pages": 3,
        "start_index": 11, "end_index": 20,
    }  # fmt: skip


def test_an_empty_list_is_one_empty_page():
    paginator = Paginator(1, 20)
    assert paginator.window(0) == (0, 20)
    assert paginator.envelope([]) == {
        "pagination": {"next": 0, "previous": 0, "count": 0, "current": 1, "total_pages": 1,
                       "start_index": 0, "end_index": 0},
        "results": [],
        "autocomplete": {},
    }  # fmt: skip


@pytest.mark.parametrize("page", [0, -1, 4])
def test_a_page_outside_is_invalid(page):
    with pytest.raises(APIError) as invalid:
        Paginator(page, 10).window(25)
    assert (invalid.value.status, invalid.value.body) == (404, {"detail": "Invalid page."})
