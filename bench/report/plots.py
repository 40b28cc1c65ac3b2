"""Figures from results (matplotlib, Agg backend: no display needed), each answering one question for a
reader of a paper.

A method is drawn alike in every figure (method_styles): the parameter-free rows, the references, in greys
told apart by line style and marker, each learned method in a colour of its own. Line figures put their
legend outside the axes; the metric-vs-R and per-band ones scale their y axis to the learned methods: a
parameter-free curve worse than all of them leaves the axes at an arrow and is named, with its extreme value,
above the panel.

Every public figure function is `@content_cached`: the PNG carries a digest of the function's inputs
and of this module's source in its metadata, and a figure whose PNG already carries the same digest
is not drawn again. Drawing was most of what a cached re-run of `bench run` spent (profiled on the
loaded 2-core VM: 15.3 s of 25.2 s for 15 cached cells), and redrawing an unchanged figure only
rewrites identical bytes.
"""
from __future__ import annotations

import contextvars
import functools
import hashlib
import inspect
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402 - the backend must be chosen first
import numpy as np  # noqa: E402
from matplotlib.font_manager import FontProperties  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.text import Annotation  # noqa: E402
from matplotlib.ticker import FuncFormatter, LogFormatterSciNotation, LogLocator, NullFormatter  # noqa: E402
from matplotlib.transforms import offset_copy  # noqa: E402
from scipy.signal import stft  # noqa: E402

import pandas as pd  # noqa: E402
from PIL import Image  # noqa: E402 - matplotlib's own PNG dependency

from bench.core.files import atomic_write  # noqa: E402
from methods import get_entry, method_names  # noqa: E402

Panel = tuple[str, np.ndarray, int]  # (title, audio (T,), sample rate)
Curve = tuple[np.ndarray, np.ndarray]  # (x, y) of one method in one panel
Bar = tuple[str, float, float, float]  # (test input, accuracy, 95 % CI low, high; NaN: no CI shown)
DIGEST_FIELD = "bench-inputs-sha256"  # PNG text chunk holding the digest of a figure's inputs
SPECTROGRAM_COLUMNS = 6  # panels side by side in one spectrogram figure: more is illegible at page width
_SOURCE = Path(__file__).read_bytes()
_digest: contextvars.ContextVar[str] = contextvars.ContextVar("figure_digest", default="")


def _feed(h: "hashlib._Hash", value: Any) -> None:
    """Hash a figure input canonically: arrays and frames by content, containers element-wise."""
    if isinstance(value, np.ndarray):
        h.update(f"nd{value.dtype}{value.shape}".encode())
        h.update(np.ascontiguousarray(value).tobytes())
    elif isinstance(value, pd.DataFrame):
        h.update(repr(list(value.columns)).encode())
        h.update(pd.util.hash_pandas_object(value, index=False).to_numpy().tobytes())
    elif isinstance(value, dict):
        for k in value:
            _feed(h, k)
            _feed(h, value[k])
    elif isinstance(value, (list, tuple)):
        h.update(f"seq{len(value)}".encode())
        for v in value:
            _feed(h, v)
    else:
        h.update(repr(value).encode())


def _png_digest(path: Path) -> str | None:
    try:
        with Image.open(path) as image:
            return image.text.get(DIGEST_FIELD)
    except (OSError, ValueError, AttributeError):  # missing, truncated or not a PNG: draw it
        return None


def content_cached(draw: Callable[..., None]) -> Callable[..., None]:
    """Skip `draw(..., path=..., ...)` when the PNG at `path` was drawn from the same inputs."""
    signature = inspect.signature(draw)

    @functools.wraps(draw)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        h = hashlib.sha256(_SOURCE + draw.__name__.encode())
        _feed(h, [args, kwargs, _registry()])  # styles follow the registry (method_styles)
        digest = h.hexdigest()
        path = Path(signature.bind(*args, **kwargs).arguments["path"])
        if _png_digest(path) == digest:
            return
        token = _digest.set(digest)
        try:
            draw(*args, **kwargs)
        finally:
            _digest.reset(token)
    return wrapper


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


def _registry() -> list[tuple[str, bool]]:
    """(name, trainable) of every registered method, in registry order."""
    return [(name, get_entry(name).trainable) for name in method_names()]


def parameter_free(method: str) -> bool:
    """Whether `method` is a registered method with nothing trained (an external model is not)."""
    return (method, False) in _registry()


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
    registry = _registry()
    return {m: _style(m, registry) for m in methods}


def _handle(style: Style) -> Line2D:
    return Line2D([], [], color=style.color, linestyle=style.linestyle, marker=style.marker, markersize=4.5,
                  linewidth=1.4)


def _title_and_legend(fig: plt.Figure, title: str, styles: dict[str, Style]) -> None:
    """The figure's title and one legend for all its axes, right of them (so it covers no line), parameter-free
    rows first; the title starts at the left edge, so that it never runs into the legend's top."""
    order = sorted(styles, key=lambda m: not parameter_free(m))  # stable: registry order within each kind
    fig.legend([_handle(styles[m]) for m in order], order, loc="outside right center", fontsize=8, frameon=False,
               title="grey: parameter-free" if any(map(parameter_free, order)) else None, title_fontsize=8)
    fig.suptitle(title, fontsize=10, x=0.01, ha="left")


def _clip_parameter_free(ax: plt.Axes, curves: dict[str, Curve], higher_is_better: bool = False) -> str:
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


def _log_spectrogram(audio: np.ndarray, sr: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(freqs, times, dB (F, N)) with a window of ~32 ms whatever the rate, so panels line up. The STFT's
    "spectrum" scaling divides by the window's sum, so levels compare across rates."""
    nperseg = 1 << int(np.round(np.log2(0.032 * sr)))
    f, t, z = stft(audio, fs=sr, nperseg=nperseg, noverlap=nperseg * 3 // 4)
    return f, t, 20 * np.log10(np.abs(z) + 1e-6)


def _save(fig: plt.Figure, path: Path) -> None:
    atomic_write(Path(path), lambda tmp: fig.savefig(tmp, format="png", dpi=90, bbox_inches="tight",
                                                     metadata={DIGEST_FIELD: _digest.get()}))
    plt.close(fig)


_DB_RANGE = 80  # dB below a figure's loudest bin that its colour scale spans


@content_cached
def spectrogram_figure(rows: Sequence[Sequence[Panel | None]], max_hz: float, path: Path, title: str = "",
                       row_labels: Sequence[str] = ()) -> None:
    """What does each method put into the empty upper band? A grid of spectrograms, columns aligned across
    rows (None: no panel there) and titled by their first panel, all on a 0..max_hz axis (a low-rate panel
    shows its empty upper band as blank) and on one colour scale (dB below the figure's loudest bin)."""
    spectra = [[None if p is None else (p[0], *_log_spectrogram(p[1], p[2])) for p in row] for row in rows]
    loudest = max(p[3].max() for row in spectra for p in row if p is not None)
    n_rows, n_cols = len(rows), max(len(r) for r in rows)
    fig, axes = plt.subplots(n_rows, n_cols, figsize=(1.9 * n_cols + 1.2, 1.6 * n_rows + 0.7), squeeze=False,
                             layout="constrained", sharex=True, sharey=True)
    image = None
    for r, row in enumerate(spectra):
        for c, ax in enumerate(axes[r]):
            panel = row[c] if c < len(row) else None
            if panel is None:
                ax.axis("off")
                continue
            _, f, t, db = panel
            image = ax.pcolormesh(t, f / 1000, db - loudest, shading="auto", cmap="magma", vmin=-_DB_RANGE, vmax=0)
            ax.tick_params(labelsize=8)
        label = row_labels[r] if r < len(row_labels) else ""
        axes[r][0].set_ylabel(f"{label}\nfrequency (kHz)" if label else "frequency (kHz)", fontsize=8)
    for c in range(n_cols):
        name = next((p[0] for row in spectra if c < len(row) and (p := row[c]) is not None), "")
        axes[0][c].set_title(name, fontsize=9)
    for ax in axes[-1]:
        ax.set_xlabel("time (s)", fontsize=8)
    axes[0][0].set_ylim(0, max_hz / 1000)
    bar = fig.colorbar(image, ax=axes, aspect=12 * n_rows, pad=0.01)
    bar.set_label("level (dB re. loudest bin)", fontsize=8)
    bar.ax.tick_params(labelsize=8)
    if title:
        fig.suptitle(title, fontsize=10)
    _save(fig, path)


def split_columns(rows: Sequence[Sequence[Panel | None]], fixed: int,
                  max_cols: int = SPECTROGRAM_COLUMNS) -> list[list[list[Panel | None]]]:
    """Rows of aligned columns cut into figures of at most `max_cols` columns: the first `fixed` columns (the
    references) repeat in each, so that every figure reads on its own, and the others are shared out evenly."""
    n_cols = max(len(r) for r in rows)
    others = np.arange(fixed, n_cols)
    n_figures = max(1, -(-len(others) // (max_cols - fixed)))
    return [[[row[c] if c < len(row) else None for c in [*range(fixed), *chunk]] for row in rows]
            for chunk in np.array_split(others, n_figures)]


def spectrogram_figures(rows: Sequence[Sequence[Panel | None]], max_hz: float, path: Path, title: str,
                        row_labels: Sequence[str] = (), fixed: int = 2) -> list[Path]:
    """`spectrogram_figure` over split_columns(rows, fixed): PATH-1.png, PATH-2.png, ...; return their paths."""
    figures = split_columns(rows, fixed)
    paths = [path.with_name(f"{path.stem}-{i}{path.suffix}") for i in range(1, len(figures) + 1)]
    for i, (part, out) in enumerate(zip(figures, paths), 1):
        suffix = f" ({i}/{len(figures)})" if len(figures) > 1 else ""
        spectrogram_figure(part, max_hz=max_hz, path=out, title=title + suffix, row_labels=row_labels)
    return paths


def _dodge(methods: Sequence[str], step: float) -> dict[str, float]:
    """A small x shift per method, so that CI bars at one x do not hide each other."""
    width = 0.3 * step
    n = len(methods)
    return {m: width * (i / (n - 1) - 0.5) if n > 1 else 0.0 for i, m in enumerate(methods)}


@content_cached
def metric_vs_scale(table, metric: str, path: Path, title: str, ylabel: str | None = None,
                    higher_is_better: bool = False) -> None:
    """How does each method's `metric` degrade with R? One line per method (mean, with CI bars when present)."""
    fig, ax = plt.subplots(figsize=(6.2, 4.0), layout="constrained")
    methods = list(dict.fromkeys(table["method"]))  # the table's order: the registry's
    styles = method_styles(methods)
    scales = np.sort(table["scale"].unique()).astype(float)
    shift = _dodge(methods, float(np.min(np.diff(scales))) if len(scales) > 1 else 1.0)
    reach: dict[str, Curve] = {}  # what the y axis must show: a learned curve with its CI bars
    for method, rows in table.groupby("method", sort=False):
        rows = rows.sort_values("scale")
        x, y = rows["scale"].to_numpy(dtype=float), rows[metric].to_numpy(dtype=float)
        lo, hi = rows.get(f"{metric}_lo"), rows.get(f"{metric}_hi")
        err = None
        if lo is not None and hi is not None:
            err = np.vstack([y - lo.to_numpy(float), hi.to_numpy(float) - y])
            err = np.where(np.isfinite(err), np.maximum(err, 0), 0)
        s = styles[method]
        ax.errorbar(x + shift[method], y, yerr=err, marker=s.marker, markersize=4.5, linestyle=s.linestyle,
                    color=s.color, capsize=2, linewidth=1.4, elinewidth=0.9)
        worse_end = y if err is None or parameter_free(method) else (y - err[0] if higher_is_better else y + err[1])
        reach[method] = (x + shift[method], worse_end)
    ax.set_xlabel("upscaling ratio R")
    ax.set_ylabel(ylabel or metric.upper().replace("_", "-"))
    ax.set_xticks(scales, [f"{v:g}" for v in scales])
    ax.grid(alpha=0.3)
    ax.set_title(_clip_parameter_free(ax, reach, higher_is_better), fontsize=8)
    _title_and_legend(fig, title, styles)
    _save(fig, path)


@content_cached
def band_lsd_figure(groups, path: Path, title: str) -> None:
    """Where in frequency does each method err? Per-band LSD, one subplot per group: ``groups`` = [(label,
    edges_hz (n+1), {method: LSD per band (n)}, low-rate Nyquist in Hz)]. Each method is a step curve over
    the bands with a marker at each band's centre; the dashed line marks where the low-rate input ends."""
    styles = method_styles(dict.fromkeys(m for _, _, curves, _ in groups for m in curves))
    fig, axes = plt.subplots(1, len(groups), figsize=(4.6 * len(groups) + 1.6, 3.8), squeeze=False,
                             layout="constrained")
    for ax, (label, edges, curves, nyquist) in zip(axes[0], groups):
        edges_khz = np.asarray(edges, dtype=float) / 1000
        centres = (edges_khz[:-1] + edges_khz[1:]) / 2
        for method, values in curves.items():
            v, s = np.asarray(values, dtype=float), styles[method]
            ax.stairs(v, edges_khz, baseline=None, color=s.color, linestyle=s.linestyle, linewidth=1.4)
            ax.plot(centres, v, linestyle="none", marker=s.marker, markersize=3.5, color=s.color)
        ax.axvline(nyquist / 1000, color="0.3", linestyle="--", linewidth=1)
        ax.set_xlim(edges_khz[0], edges_khz[-1])
        ax.set_xlabel("frequency band (kHz)")
        ax.grid(alpha=0.3)
        note = _clip_parameter_free(ax, {m: (centres, np.asarray(v, dtype=float)) for m, v in curves.items()})
        ax.set_title(f"{label}\n{note}" if note else label, fontsize=9)
    axes[0][0].set_ylabel("LSD (nuwave) in band")
    _title_and_legend(fig, title, styles)
    _save(fig, path)


def pareto_front(points: Sequence[tuple[float, float]]) -> list[int]:
    """Indices of the points not dominated in (cost lower, value lower), ordered by cost."""
    order = sorted(range(len(points)), key=lambda i: (points[i][0], points[i][1]))
    front, best = [], np.inf
    for i in order:
        if points[i][1] < best:
            front.append(i)
            best = points[i][1]
    return front


def _log_x(ax: plt.Axes, values: Sequence[float]) -> None:
    """A log x axis whose labels cannot overprint: a tick per decade when the values span more than two,
    at 1-2-5 otherwise; plain numbers where they are short, powers of ten elsewhere; minor ticks unlabelled."""
    lo, hi = float(np.min(values)), float(np.max(values))
    ax.set_xscale("log")
    ax.xaxis.set_major_locator(LogLocator(base=10, subs=(1.0,) if hi / lo > 100 else (1.0, 2.0, 5.0)))
    plain = 1e-3 <= lo and hi < 1e4
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}") if plain
                                 else LogFormatterSciNotation(labelOnlyBase=False))
    ax.xaxis.set_minor_formatter(NullFormatter())


# Candidate label spots around a point: rings (display pixels at the canvas's dpi) and directions (degrees),
# beside the point first (right, then left: the reading direction), above or below it last.
_RINGS = np.array([2, 6, 11, 17, 25, 35, 48, 64, 84, 110, 140, 180, 230, 290, 360], dtype=float)
_DIRECTIONS = sorted(range(0, 360, 20), key=lambda a: (round(abs(np.sin(np.radians(a))), 6), 90 < a < 270))
# What a label's spot costs beyond its ring and direction (px): a leader line over another point, over
# another leader, and a label with no leader that lies nearer another point than its own (it would be misread).
_CROSSED_POINT, _CROSSED_LINE, _MISREAD = 25.0, 15.0, 60.0


def _candidates(point: np.ndarray, size: tuple[float, float]) -> tuple[np.ndarray, np.ndarray]:
    """Boxes (n, 4: x0, y0, x1, y1) of `size` around `point`, each just clear of its ring, and what each spot
    costs before anything it crosses: its ring, plus half a pixel per rank of its direction."""
    w, h = size
    ring = np.repeat(_RINGS, len(_DIRECTIONS))
    rank = np.tile(np.arange(len(_DIRECTIONS)), len(_RINGS))
    angle = np.radians(np.tile(_DIRECTIONS, len(_RINGS)))
    cx, cy = point[0] + np.cos(angle) * (ring + w / 2), point[1] + np.sin(angle) * (ring + h / 2)
    return np.column_stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2]), ring + 0.5 * rank


def _leader(point: np.ndarray, box: np.ndarray, dot: float) -> np.ndarray:
    """Samples (k, 2), 3 px apart, of the leader line matplotlib draws from just outside `point`'s marker
    (half-size `dot`) towards the centre of the label `box`, up to its edge; none when the label is next to
    its point and gets no line."""
    centre = (box[:2] + box[2:]) / 2
    dist = float(np.linalg.norm(centre - point))
    samples = point + (centre - point) / dist * np.arange(dot + 1, dist, 3)[:, None]
    line = samples[~((samples >= box[:2]) & (samples <= box[2:])).all(axis=1)]
    return line if len(line) > 2 else np.empty((0, 2))


def _overlapping(boxes: np.ndarray, others: np.ndarray) -> np.ndarray:
    """(n, m): whether each of `boxes` (n, 4) overlaps each of `others` (m, 4)."""
    a, b = boxes[:, None], others[None]
    return (a[..., 0] < b[..., 2]) & (a[..., 2] > b[..., 0]) & (a[..., 1] < b[..., 3]) & (a[..., 3] > b[..., 1])


def _hit(samples: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """Which of `boxes` (n, 4) hold any of the points `samples` (k, 2)."""
    return _overlapping(np.column_stack([samples, samples]), boxes).any(axis=0)


def _samples(line: Line2D, step: float = 3.0) -> np.ndarray:
    """Points (k, 2) every `step` display pixels along a drawn polyline."""
    vertices = line.get_transform().transform(line.get_xydata())
    pieces = [a + (b - a) * np.linspace(0, 1, int(np.linalg.norm(b - a) // step) + 2)[:, None]
              for a, b in zip(vertices[:-1], vertices[1:])]
    return np.vstack(pieces or [vertices])


def _place_labels(ax: plt.Axes, xy: Sequence[tuple[float, float]], labels: Sequence[str],
                  avoid: Sequence[Line2D] = (), fontsize: float = 7) -> list[Annotation]:
    """Label every point with no two labels overlapping and no label on a point, on a line of `avoid` or on
    a leader line, nor a leader line through a label: each label, the most crowded points first, takes the
    cheapest free spot around its point (inside the axes if any is free, else around them), cheap meaning
    near, with its leader line (drawn when it is not next to its point) crossing few points and leaders, and
    not nearer another point than its own. A few lines of greedy placement instead of adjustText: no
    dependency, and deterministic, so a redrawn page is byte-identical. Positions are in display pixels, so
    the figure's layout must be final: draw it and freeze it first."""
    fig = ax.figure
    renderer = fig.canvas.get_renderer()
    pts = ax.transData.transform(np.asarray(xy, dtype=float))
    pad, dot = 1.5, 4.0  # px: around a label, so that neighbours do not touch; half a marker
    markers = np.column_stack([pts - dot, pts + dot])
    along = np.vstack([_samples(line) for line in avoid] or [np.empty((0, 2))])
    lines = np.column_stack([along - 1, along + 1])  # the lines to avoid, then the leaders drawn
    placed = np.empty((0, 4))  # the labels so far
    frame = np.asarray(ax.bbox.extents)
    crowd = (np.linalg.norm(pts[:, None] - pts[None], axis=-1) < 40).sum(axis=1)
    notes = {}
    for i in sorted(range(len(pts)), key=lambda i: (-crowd[i], i)):
        w, h, _ = renderer.get_text_width_height_descent(labels[i], FontProperties(size=fontsize), ismath=False)
        boxes, base = _candidates(pts[i], (w + 2 * pad, h + 2 * pad))
        free = ~_overlapping(boxes, np.vstack([markers, lines, placed])).any(axis=1)
        inside = (boxes[:, :2] >= frame[:2]).all(axis=1) & (boxes[:, 2:] <= frame[2:]).all(axis=1)
        best = (np.inf, 0, _leader(pts[i], boxes[0], dot))  # (cost, spot, leader); kept only if nothing is free
        for allowed in (free & inside, free):
            for k in np.flatnonzero(allowed)[np.argsort(base[allowed], kind="stable")]:
                if base[k] >= best[0]:  # the rest cost more before anything they cross
                    break
                line = _leader(pts[i], boxes[k], dot)
                cost = base[k] + _crossing_cost(boxes[k], line, i, pts, markers, lines, placed)
                if cost < best[0]:
                    best = (cost, k, line)
            if np.isfinite(best[0]):
                break
        _, k, line = best
        placed = np.vstack([placed, boxes[k]])
        lines = np.vstack([lines, np.column_stack([line - 1, line + 1])])
        centre = (boxes[k, :2] + boxes[k, 2:]) / 2
        notes[i] = ax.annotate(labels[i], xy[i], xytext=tuple((centre - pts[i]) * 72 / fig.dpi),  # px -> points
                               textcoords="offset points", ha="center", va="center", fontsize=fontsize, zorder=5,
                               arrowprops=dict(arrowstyle="-", color="0.45", linewidth=0.6, shrinkA=1, shrinkB=3)
                               if len(line) else None)
    return [notes[i] for i in range(len(pts))]


def _crossing_cost(box: np.ndarray, line: np.ndarray, i: int, pts: np.ndarray, markers: np.ndarray,
                   lines: np.ndarray, placed: np.ndarray) -> float:
    """What point `i`'s label in the free spot `box`, with leader `line`, adds to the spot's cost
    (_place_labels); inf where the leader crosses a label."""
    if _hit(line, placed).any():
        return np.inf
    near = np.linalg.norm(pts - np.clip(pts, box[:2], box[2:]), axis=1)
    misread = not len(line) and near[i] > near.min()
    return float(_CROSSED_POINT * _hit(line, markers).sum() + _CROSSED_LINE * _hit(line, lines).any()
                 + _MISREAD * misread)


@content_cached
def cost_quality_figure(groups, path: Path, title: str, ylabel: str) -> None:
    """What quality does each inference cost buy? Quality vs inference cost, one subplot per group:
    ``groups`` = [(label, [(method, rtf, value)])], lower value is better. Log-x scatter, each point
    labelled where no label overlaps another, the Pareto front joined."""
    styles = method_styles(dict.fromkeys(m for _, pts in groups for m, _, _ in pts))
    fig, axes = plt.subplots(1, len(groups), figsize=(5.0 * len(groups), 4.4), squeeze=False, layout="constrained")
    points = [[(float(x), float(y)) for _, x, y in pts] for _, pts in groups]
    for ax, (label, pts), xy in zip(axes[0], groups, points):
        for (method, _, _), (x, y) in zip(pts, xy):
            s = styles[method]
            ax.scatter([x], [y], color=s.color, marker=s.marker, s=30, zorder=3, edgecolors="0.2", linewidths=0.4)
        front = pareto_front(xy)
        ax.plot([xy[i][0] for i in front], [xy[i][1] for i in front], color="0.4", linewidth=1, zorder=2)
        _log_x(ax, [x for x, _ in xy])
        ax.margins(x=0.15, y=0.1)
        ax.set_xlabel("inference real-time factor (log)")
        ax.set_title(label, fontsize=9)
        ax.grid(alpha=0.3, which="major")
    axes[0][0].set_ylabel(ylabel)
    fig.suptitle(title, fontsize=10)
    fig.canvas.draw()  # the final layout, then frozen: labels are placed in display pixels
    fig.set_layout_engine("none")
    for ax, (_, pts), xy in zip(axes[0], groups, points):
        _place_labels(ax, xy, [m for m, _, _ in pts], avoid=ax.lines)
    _save(fig, path)


@content_cached
def robustness_heatmap(values: np.ndarray, methods: Sequence[str], filters: Sequence[str], path: Path,
                       title: str) -> None:
    """Does a model trained with one anti-alias filter hold up under the others? Heat map of LSD (methods x
    test filters, NaN = missing), numbers printed in every cell, each method keyed by its marker."""
    fig, ax = plt.subplots(figsize=(1.3 * len(filters) + 2.8, 0.45 * len(methods) + 1.6), layout="constrained")
    image = ax.imshow(np.ma.masked_invalid(values), cmap="viridis_r", aspect="auto")
    ax.set_xticks(range(len(filters)), [f"test {f}" for f in filters], rotation=30, ha="right", fontsize=8)
    ax.set_yticks(range(len(methods)), list(methods), fontsize=8)
    ax.tick_params(axis="y", length=0, pad=14)  # room for the markers between the names and the cells
    beside = offset_copy(ax.get_yaxis_transform(), fig=fig, x=-7, units="points")  # 7 pt left of the cells
    for i, s in enumerate(method_styles(methods).values()):
        ax.plot([0], [i], transform=beside, marker=s.marker, color=s.color, markersize=6, clip_on=False)
    for (i, j), v in np.ndenumerate(values):
        if np.isfinite(v):
            light = image.norm(v) < 0.5  # viridis_r is light at the low end: dark text there
            ax.text(j, i, f"{v:.2f}", ha="center", va="center", fontsize=7, color="black" if light else "white")
    fig.colorbar(image, ax=ax, label="LSD (lower is better)")
    ax.set_title(title, fontsize=9)
    _save(fig, path)


@content_cached
def anytime_figure(groups, path: Path, title: str, ylabel: str) -> None:
    """How fast does each learned method get good? Validation LSD against training FLOPs (log x, in TFLOP),
    one subplot per group: ``groups`` = [(label, {method: [(flops, valid LSD)] in budget order})]; one line
    per method, a marker per snapshot."""
    styles = method_styles(dict.fromkeys(m for _, curves in groups for m in curves))
    fig, axes = plt.subplots(1, len(groups), figsize=(4.6 * len(groups) + 1.6, 3.8), squeeze=False,
                             layout="constrained")
    for ax, (label, curves) in zip(axes[0], groups):
        tflop = []
        for method, points in curves.items():
            x, y = np.asarray(points, dtype=float).T
            s = styles[method]
            ax.plot(x / 1e12, y, marker=s.marker, markersize=4, color=s.color, linestyle=s.linestyle, linewidth=1.4)
            tflop += list(x / 1e12)
        _log_x(ax, tflop)
        ax.set_xlabel("training TFLOP (log)")
        ax.set_title(label, fontsize=9)
        ax.grid(alpha=0.3, which="both")
    axes[0][0].set_ylabel(ylabel)
    _title_and_legend(fig, title, styles)
    _save(fig, path)


@content_cached
def accuracy_bars(hr: Bar | None, lr: Bar | None, methods: Sequence[Bar], path: Path, title: str) -> None:
    """Does SR help the classifier? Its accuracy per test input (a bar each, 95 % CI whiskers) between its
    accuracy on LR (lower bound) and on HR (upper bound) input, drawn as horizontal reference lines."""
    refs = [(b, color, hatch, line) for b, color, hatch, line in ((hr, "black", "//", "--"), (lr, "0.45", "..", ":"))
            if b is not None]
    bars = [b for b, *_ in refs] + list(methods)
    styles = method_styles(name for name, *_ in methods)
    fig, ax = plt.subplots(figsize=(0.42 * len(bars) + 3.0, 4.0), layout="constrained")
    x = np.arange(len(bars))
    acc = np.array([b[1] for b in bars], dtype=float)
    ci = np.array([b[2:] for b in bars], dtype=float).T
    ax.bar(x, acc, width=0.7, yerr=np.where(np.isfinite(ci), np.abs(ci - acc), 0), capsize=2,
           color=["white"] * len(refs) + [styles[b[0]].color for b in methods],
           edgecolor=[color for _, color, _, _ in refs] + ["0.2"] * len(methods),
           hatch=[hatch for _, _, hatch, _ in refs] + [None] * len(methods), linewidth=0.8,
           error_kw=dict(elinewidth=0.9, ecolor="0.2"))
    for b, color, _, line in refs:
        ax.axhline(b[1], color=color, linestyle=line, linewidth=1.2, label=f"{b[0]}: {b[1]:.3f}", zorder=3)
    ax.set_xticks(x, [b[0] for b in bars], rotation=45, ha="right", fontsize=8)
    ax.set_xlim(-0.6, len(bars) - 0.4)
    ax.set_ylim(0, 1.02)
    ax.set_ylabel("accuracy (95 % CI)")
    ax.grid(alpha=0.3, axis="y")
    if refs:
        fig.legend(loc="outside right upper", fontsize=8, frameon=False, title="reference lines", title_fontsize=8)
    ax.set_title(title, fontsize=10)
    _save(fig, path)


@content_cached
def confusion_grid(panels: Sequence[tuple[str, np.ndarray]], classes: Sequence[str], path: Path, title: str) -> None:
    """Which classes does each input confuse? Confusion matrices side by side: ``panels`` = [(title, counts
    (C, C), rows true, columns predicted)], each shown as row-normalised recall (colour) with the counts printed."""
    n = len(panels)
    cols = min(n, 4)
    rows = -(-n // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(2.6 * cols, 2.6 * rows + 0.4), squeeze=False, layout="constrained")
    ticks = range(len(classes))
    for ax, (name, cm) in zip(axes.flat, panels):
        cm = np.asarray(cm)
        share = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1)
        ax.imshow(share, cmap="Blues", vmin=0, vmax=1)
        for (i, j), v in np.ndenumerate(cm):
            ax.text(j, i, str(v), ha="center", va="center", fontsize=7, color="white" if share[i, j] > 0.5 else "black")
        ax.set_xticks(ticks, classes, fontsize=7)
        ax.set_yticks(ticks, classes, fontsize=7)
        acc = np.trace(cm) / max(cm.sum(), 1)
        ax.set_title(f"{name}\nacc {acc:.3f}", fontsize=8)
    for ax in list(axes.flat)[n:]:
        ax.axis("off")
    for ax in axes[:, 0]:
        ax.set_ylabel("true", fontsize=8)
    for ax in axes[-1]:
        ax.set_xlabel("predicted", fontsize=8)
    fig.suptitle(title, fontsize=10, y=1.04)  # above the two-line panel titles
    _save(fig, path)
