"""How methods look in every figure: parameter-free rows (the references) in greys told apart by line style
and marker, each learned method in a colour of its own fixed by the registry, one legend outside the axes,
and y axes scaled to the learned methods with off-scale baselines clipped and named."""
from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import Any, Iterable

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402 - the backend must be chosen first
import numpy as np  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402

from methods import get_entry, method_names  # noqa: E402

Curve = tuple[np.ndarray, np.ndarray]  # (x, y) of one method in one panel


@dataclass(frozen=True)
class Style:
    """How one method is drawn, in every figure."""
    color: Any
    linestyle: Any
    marker: str


# Parameter-free methods are references, not contenders: greys, told apart by line style and marker.
_GREYS = ("0.1", "0.3", "0.45", "0.58", "0.7")
_GREY_LINES: tuple[Any, ...] = ("-", "--", ":", "-.", (0, (5, 1, 1, 1, 1, 1)))
_GREY_MARKERS = ("s", "^", "v", "D", "X")
# tab20's nine saturated hues, then their light partners (its grey pair left out: grey means parameter-free),
# so two shades of one hue are never neighbours in a legend; the markers cycle with another period, so two
# methods of one hue also differ in marker.
_TAB20 = plt.get_cmap("tab20").colors
_PALETTE = tuple(_TAB20[i] for i in (0, 2, 4, 6, 8, 10, 12, 16, 18, 1, 3, 5, 7, 9, 11, 13, 17, 19))
_MARKERS = ("o", "s", "^", "D", "v", "P", "X", "<", ">", "h")


def registry_kinds() -> list[tuple[str, bool]]:
    """(name, trainable) of every registered method, in registry order."""
    return [(name, get_entry(name).trainable) for name in method_names()]


def parameter_free(method: str) -> bool:
    """Whether `method` is a registered method with nothing trained (an external model is not)."""
    return (method, False) in registry_kinds()


def _style(method: str, registry: list[tuple[str, bool]]) -> Style:
    free = [name for name, trainable in registry if not trainable]
    if method in free:
        i = free.index(method)
        return Style(_GREYS[i % len(_GREYS)], _GREY_LINES[(i + i // len(_GREYS)) % len(_GREY_LINES)],
                     _GREY_MARKERS[i % len(_GREY_MARKERS)])
    learned = [name for name, trainable in registry if trainable]
    # A model scored from outside the suite (`bench score`) is in no registry: one of the colours the learned
    # methods leave, picked by its name alone, so that every figure of a page gives it the same one.
    left = len(_PALETTE) - len(learned) % len(_PALETTE)
    i = learned.index(method) if method in learned else len(learned) + zlib.crc32(method.encode()) % left
    return Style(_PALETTE[i % len(_PALETTE)], "-", _MARKERS[i % len(_MARKERS)])


def method_styles(methods: Iterable[str]) -> dict[str, Style]:
    """Each method's style, fixed by the registry alone: a method looks the same in every figure of every
    page, whichever other methods a figure shows."""
    registry = registry_kinds()
    return {m: _style(m, registry) for m in methods}


def _handle(style: Style) -> Line2D:
    return Line2D([], [], color=style.color, linestyle=style.linestyle, marker=style.marker, markersize=4.5,
                  linewidth=1.4)


def title_and_legend(fig: plt.Figure, title: str, styles: dict[str, Style]) -> None:
    """The figure's title and one legend for all its axes, right of them (so it covers no line), parameter-free
    rows first; the title starts at the left edge, so that it never runs into the legend's top."""
    order = sorted(styles, key=lambda m: not parameter_free(m))  # stable: registry order within each kind
    fig.legend([_handle(styles[m]) for m in order], order, loc="outside right center", fontsize=8, frameon=False,
               title="grey: parameter-free" if any(map(parameter_free, order)) else None, title_fontsize=8)
    fig.suptitle(title, fontsize=10, x=0.01, ha="left")


def clip_parameter_free(ax: plt.Axes, curves: dict[str, Curve], higher_is_better: bool = False) -> str:
    """Scale the y axis to the learned curves: a parameter-free curve worse than every learned value is cut
    at the axis edge and marked there by arrows; return the note naming the cut curves with their extreme
    value ("" when none is cut, or no learned curve gives a scale). Call after drawing every curve."""
    learned = np.concatenate([y for m, (_, y) in curves.items() if not parameter_free(m)] or [np.empty(0)])
    learned = learned[np.isfinite(learned)]
    if not learned.size:
        return ""
    sign = -1.0 if higher_is_better else 1.0  # worse is up for LSD, down for SNR
    best = ax.dataLim.y1 if higher_is_better else ax.dataLim.y0  # of everything drawn, CI bars included
    worst = sign * np.max(sign * learned)
    span = abs(worst - best) or abs(worst) or 1.0
    edge = worst + sign * 0.08 * span
    cut = {m: sign * np.nanmax(sign * y) for m, (_, y) in curves.items()
           if parameter_free(m) and (sign * (y - edge) > 0).any()}
    if not cut:
        return ""
    for method in cut:
        x, y = curves[method]
        beyond = sign * (y - edge) > 0
        ax.plot(x[beyond], np.full(int(beyond.sum()), edge), linestyle="none", marker="^" if sign > 0 else "v",
                markersize=7, color=method_styles([method])[method].color, clip_on=False, zorder=4)
    ax.set_ylim(sorted((best - sign * 0.05 * span, edge)))
    return f"off scale {'↓' if higher_is_better else '↑'}: " + ", ".join(f"{m} {v:.3g}" for m, v in cut.items())
