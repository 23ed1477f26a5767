"""The one pager of counted lists (templates/_pager.html): links keep the list's filters, say which
way time runs, and the pager is absent when everything fits on one page."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.template.loader import render_to_string
from django.test import RequestFactory


def _render(query: str, *, rows: int, newest_first: bool = False) -> str:
    request = RequestFactory().get(f"/visits?{query}")
    page = Paginator(list(range(rows)), 10).get_page(request.GET.get("page"))
    return render_to_string("_pager.html", {"page": page, "newest_first": newest_first}, request=request)


def test_links_keep_the_filters_and_change_only_the_page():
    html = _render("status=open&patient=abc&page=2", rows=35)
    assert 'href="?status=open&amp;patient=abc&amp;page=1" rel="prev"' in html
    assert 'href="?status=open&amp;patient=abc&amp;page=3" rel="next"' in html
    assert "Page 2 of 4 · 35 in all" in html


def test_a_list_newest_first_pages_to_older_rows():
    html = _render("page=1", rows=11, newest_first=True)
    assert "Older →" in html and "Next" not in html


def test_one_page_shows_no_pager():
    assert _render("", rows=10).strip() == ""
