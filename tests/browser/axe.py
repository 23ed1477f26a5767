"""axe-core (vendored: tests/browser/vendor/axe.min.js, MPL-2.0, from npm `axe-core`) run in the page.

Every page a browser test visits is checked against WCAG 2.0/2.1/2.2 A and AA, in the light theme
and again in the dark one (DocOS follows the operating system's `prefers-color-scheme`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

AXE = Path(__file__).parent / "vendor" / "axe.min.js"
_SOURCE: list[str] = []
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]


def _axe_source() -> str:
    if not _SOURCE:
        _SOURCE.append(AXE.read_text(encoding="utf-8"))
    return _SOURCE[0]


def axe_violations(page: Any) -> list[dict[str, Any]]:
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        # Evaluated through the DevTools protocol: the page's CSP (script-src 'self') stays in force.
        page.evaluate(_axe_source() + "\n;undefined")
    result = page.evaluate(
        "async (tags) => await axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']})",
        TAGS,
    )
    return list(result["violations"])


def describe(violations: list[dict[str, Any]]) -> str:
    lines = []
    for violation in violations:
        lines.append(f"- {violation['id']} ({violation['impact']}): {violation['help']} [{violation['helpUrl']}]")
        for node in violation["nodes"][:5]:
            target = " ".join(str(part) for part in node["target"])
            lines.append(f"    {target}: {node.get('failureSummary', '').splitlines()[-1].strip()}")
        if len(violation["nodes"]) > 5:
            lines.append(f"    ... and {len(violation['nodes']) - 5} more")
    return "\n".join(lines)


def accessibility_problems(page: Any, *, where: str) -> str:
    """A readable list of axe's WCAG A/AA violations on the page, in either colour scheme ('' if none)."""
    problems = []
    for scheme in ("light", "dark"):
        page.emulate_media(color_scheme=scheme)
        violations = axe_violations(page)
        if violations:
            problems.append(f"{scheme} theme:\n{describe(violations)}")
    page.emulate_media(color_scheme="light")
    return f"axe found WCAG 2.2 AA violations on {where}:\n" + "\n".join(problems) if problems else ""
