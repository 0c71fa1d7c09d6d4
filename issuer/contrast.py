"""Colour contrast as WCAG 2.2 measures it (https://www.w3.org/TR/WCAG22/#dfn-contrast-ratio).

Pure: `#rrggbb` strings in, numbers and `#rrggbb` strings out. The brand colour is the
operator's choice, so nothing can assume it is dark: text on it, and it as text, are worked
out here until they reach the ratio the success criterion asks for.
"""

from __future__ import annotations

BLACK = "#000000"
WHITE = "#ffffff"
# 1.4.3 Contrast (Minimum): 4.5:1 for body text.
TEXT_RATIO = 4.5


def relative_luminance(colour: str) -> float:
    """https://www.w3.org/TR/WCAG22/#dfn-relative-luminance"""
    red, green, blue = (_linear(int(colour[i : i + 2], 16) / 255) for i in (1, 3, 5))
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


def _linear(channel: float) -> float:
    # WCAG 2.2 still prints 0.03928 from an old sRGB draft; 0.04045 is the standard's value and
    # no 8-bit channel falls between the two, so the results are identical.
    return channel / 12.92 if channel <= 0.04045 else ((channel + 0.055) / 1.055) ** 2.4


def contrast_ratio(first: str, second: str) -> float:
    """From 1 (the same luminance) to 21 (black on white); the order does not matter."""
    lighter, darker = sorted((relative_luminance(first), relative_luminance(second)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def readable_on(background: str) -> str:
    """Black or white, whichever reads better on `background`. One of them always reaches
    4.58:1 (the worst case is a background of luminance 0.179), so this never fails 1.4.3."""
    if contrast_ratio(BLACK, background) > contrast_ratio(WHITE, background):
        return BLACK
    return WHITE


def mix(colour: str, other: str, weight: float) -> str:
    """`colour` moved `weight` (0 to 1) of the way towards `other`, channel by channel."""
    channels = (
        round(int(colour[i : i + 2], 16) * (1 - weight) + int(other[i : i + 2], 16) * weight)
        for i in (1, 3, 5)
    )
    return "#" + "".join(f"{c:02x}" for c in channels)


def legible_against(colour: str, background: str, ratio: float = TEXT_RATIO) -> str:
    """`colour` itself when it reads on `background` at `ratio`, else the nearest shade of it
    that does: darkened towards black on a light background, lightened towards white on a
    dark one (the brand stays recognisable, links and headings stay readable)."""
    target = BLACK if relative_luminance(background) > 0.18 else WHITE
    for step in range(21):
        shade = mix(colour, target, step / 20)
        if contrast_ratio(shade, background) >= ratio:
            return shade
    return target
