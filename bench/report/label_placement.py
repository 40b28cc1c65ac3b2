"""Non-overlapping text labels for scatter points (the cost plot): each label tries spots on rings around its
point, beside it first, and takes the first that overlaps no other label, point, axis edge or line; a label
away from its point gets a thin leader line.

Written by hand: adjustText (the usual package) is not among the dependencies and would be the only use
of it; this needs a few dozen lines on matplotlib's own renderer boxes.
"""
from __future__ import annotations

from typing import Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402 - the backend must be chosen first
import numpy as np  # noqa: E402
from matplotlib.font_manager import FontProperties  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.text import Annotation  # noqa: E402


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


def place_labels(ax: plt.Axes, xy: Sequence[tuple[float, float]], labels: Sequence[str],
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
    (place_labels); inf where the leader crosses a label."""
    if _hit(line, placed).any():
        return np.inf
    near = np.linalg.norm(pts - np.clip(pts, box[:2], box[2:]), axis=1)
    misread = not len(line) and near[i] > near.min()
    return float(_CROSSED_POINT * _hit(line, markers).sum() + _CROSSED_LINE * _hit(line, lines).any()
                 + _MISREAD * misread)
