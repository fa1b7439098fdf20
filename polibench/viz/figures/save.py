"""Write figures to disk atomically (a report build never embeds a half-written PNG)."""

from __future__ import annotations

import io
from pathlib import Path

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from polibench.io import atomic_write
from polibench.viz.figures.style import DPI


def png_bytes(fig: Figure, dpi: int = DPI) -> bytes:
    """The figure rendered to PNG on the Agg canvas (no pyplot, works headless)."""
    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
    return buf.getvalue()


def save_figure(fig: Figure, path: str | Path, dpi: int = DPI) -> Path:
    """Save ``fig`` as a PNG at ``path``, atomically."""
    data = png_bytes(fig, dpi)
    return atomic_write(path, lambda tmp: tmp.write_bytes(data))
