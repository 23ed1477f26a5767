"""axe-core (vendored: tests/browser/vendor/axe.min.js, MPL-2.0, from npm `axe-core`) run in the page.

Every page a browser test visits is checked against WCAG 2.0/2.1/2.2 A and AA, in the light theme
and again in the dark one (DocOS follows the operating system's `prefers-color-scheme`).
"""

from __future__ import annotations

import os
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
    """Each violation with its first five elements (all of them with DOCOS_AXE_ALL=1)."""
    shown = 10**6 if os.environ.get("DOCOS_AXE_ALL") else 5
    lines = []
    for violation in violations:
        lines.append(f"- {violation['id']} ({violation['impact']}): {violation['help']} [{violation['helpUrl']}]")
        for node in violation["nodes"][:shown]:
            target = " ".join(str(part) for part in node["target"])
            lines.append(f"    {target}: {node.get('failureSummary', '').splitlines()[-1].strip()}")
        if len(violation["nodes"]) > shown:
            lines.append(f"    ... and {len(violation['nodes']) - shown} more")
    return "\n".join(lines)


# WCAG 1.4.11 (non-text contrast), which axe does not check: a form control's border must stand out
# 3:1 from what surrounds it. Returns the controls that fail, with their ratio.
CONTROL_BORDERS = """() => {
    const rgb = (text) => (text.match(/[\\d.]+/g) || []).map(Number);
    const luminance = ([r, g, b]) => {
        const part = (c) => { c /= 255; return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4; };
        return 0.2126 * part(r) + 0.7152 * part(g) + 0.0722 * part(b);
    };
    // The colour behind the control: its ancestors' backgrounds up to the first opaque one, the
    // translucent ones (Swagger UI's tinted operations) laid over it.
    const behind = (el) => {
        const layers = [];
        for (let node = el.parentElement; node; node = node.parentElement) {
            const colour = rgb(getComputedStyle(node).backgroundColor);
            const alpha = colour.length === 3 ? 1 : colour[3];
            if (alpha > 0) layers.push([colour.slice(0, 3), alpha]);
            if (alpha >= 1) break;
        }
        return layers.reduceRight((base, [colour, alpha]) => base.map((b, i) => colour[i] * alpha + b * (1 - alpha)),
            [255, 255, 255]);
    };
    const failing = [];
    document.querySelectorAll("input:not([type=hidden]):not([type=checkbox]):not([type=radio]), select, textarea")
        .forEach((el) => {
            const style = getComputedStyle(el);
            const shown = el.getClientRects().length && style.visibility !== "hidden";
            if (!shown || parseFloat(style.borderTopWidth) === 0) return;
            const a = luminance(rgb(style.borderTopColor)), b = luminance(behind(el));
            const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
            if (ratio < 3) failing.push(`${el.tagName.toLowerCase()}[name=${el.name}]: ${ratio.toFixed(2)}:1`);
        });
    return failing;
}"""

# Help and error texts are read with their field only when aria-describedby names ids that exist.
DANGLING_REFERENCES = """() => [...document.querySelectorAll("[aria-describedby], [aria-labelledby]")].flatMap((el) =>
    ["aria-describedby", "aria-labelledby"].flatMap((name) => (el.getAttribute(name) || "").split(/\\s+/)
        .filter((id) => id && !document.getElementById(id))
        .map((id) => `${el.tagName.toLowerCase()}[name=${el.getAttribute("name") || el.id}] ${name}=${id}`)))"""


def accessibility_problems(page: Any, *, where: str) -> str:
    """A readable list of axe's WCAG A/AA violations on the page, in either colour scheme ('' if none)."""
    problems = []
    for scheme in ("light", "dark"):
        page.emulate_media(color_scheme=scheme)
        violations = axe_violations(page)
        if violations:
            problems.append(f"{scheme} theme:\n{describe(violations)}")
        borders = page.evaluate(CONTROL_BORDERS)
        if borders:
            problems.append(f"{scheme} theme: control borders under 3:1 (WCAG 1.4.11): " + "; ".join(borders[:8]))
    page.emulate_media(color_scheme="light")
    dangling = page.evaluate(DANGLING_REFERENCES)
    if dangling:
        problems.append("references to ids that do not exist: " + "; ".join(dangling[:8]))
    return f"axe found WCAG 2.2 AA violations on {where}:\n" + "\n".join(problems) if problems else ""
