"""The home page's dashboard: panels that apps register at start-up (AppConfig.ready).

The kernel imports no domain app, so each app that has something to show on the home page (today's
appointments, unsigned drafts, follow-ups due, unread messages) registers a source: a function of
the signed-in user that returns a Panel, or None when the panel is not for them (capability,
role). The home view asks every source in `order` and shows what comes back.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Tile:
    """One number with what it counts and where to see them ("3 waiting now" -> the queue)."""

    label: str
    count: int
    url: str
    attention: bool = False  # something for this user to act on, drawn out when count > 0


@dataclass(frozen=True)
class PanelRow:
    heading: str  # e.g. a location's name; "" when the panel has one row
    tiles: list[Tile]


@dataclass(frozen=True)
class Panel:
    title: str
    rows: list[PanelRow]
    order: int = 100
    link: tuple[str, str] | None = None  # (label, url) of the page behind the whole panel
    empty: str = ""  # said instead of the rows when every count is zero
    notes: list[str] = field(default_factory=list)

    @property
    def is_empty(self) -> bool:
        return all(tile.count == 0 for row in self.rows for tile in row.tiles)


PanelSource = Callable[[Any], "Panel | None"]
_SOURCES: dict[str, PanelSource] = {}


def register_panel(key: str, source: PanelSource) -> None:
    """Register (or replace, on a re-run of ready()) the panel source named `key`."""
    _SOURCES[key] = source


def panels_for(user: Any) -> list[Panel]:
    panels = [panel for source in _SOURCES.values() if (panel := source(user)) is not None]
    return sorted(panels, key=lambda panel: (panel.order, panel.title))
