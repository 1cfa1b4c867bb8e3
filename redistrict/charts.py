"""Static figures without global state: matplotlib's object API and a bundled Chinese font.

Figures are ``matplotlib.figure.Figure`` objects with their own ``FigureCanvasAgg``: no
``matplotlib.use``, no pyplot figure registry, no rcParams changes, nothing added to
matplotlib's global font manager, so a notebook's backend and inline plots stay as they were.
Chinese text uses Noto Sans CJK SC (SIL Open Font License) from the ``mplfonts`` package, passed
to each text artist as ``FontProperties(fname=…)``: it has Latin letters, digits, ✓ and × too,
so labels never fall back to boxes whatever fonts the machine has.
"""

from __future__ import annotations

import importlib.util
import io
from pathlib import Path

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.text import Text

#: the font file used for every figure, inside the ``mplfonts`` package's ``fonts`` folder
FONT_PACKAGE, FONT_FILE = "mplfonts", "NotoSansCJKsc-Regular.otf"


def font_path() -> Path:
    """The bundled CJK font file (located without importing ``mplfonts``, which would touch rcParams helpers)."""
    spec = importlib.util.find_spec(FONT_PACKAGE)
    folders = list(spec.submodule_search_locations or []) if spec else []
    for folder in folders:
        path = Path(folder) / "fonts" / FONT_FILE
        if path.is_file():
            return path
    raise RuntimeError(f"The Chinese font {FONT_FILE} is missing (package '{FONT_PACKAGE}'); reinstall redistrict with its dependencies.")


def cjk_font(size: float | None = None) -> FontProperties:
    """The figures' font (Noto Sans CJK SC) at ``size`` points."""
    return FontProperties(fname=str(font_path()), size=size)


def new_figure(size: tuple[float, float], dpi: int = 100) -> Figure:
    """A figure drawn by its own Agg canvas (not registered with pyplot)."""
    figure = Figure(figsize=size, dpi=dpi)
    FigureCanvasAgg(figure)
    return figure


def use_font(figure: Figure, path: str | Path | None = None) -> None:
    """Give every text artist of ``figure`` the CJK font, keeping its size and weight."""
    fname = str(path or font_path())
    for text in figure.findobj(Text):
        text.set_fontproperties(FontProperties(fname=fname, size=text.get_fontsize(), weight=text.get_fontweight()))


def png_bytes(figure: Figure, *, dpi: int | None = None, **savefig) -> bytes:
    """The figure as PNG bytes, every text in the CJK font."""
    use_font(figure)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi or figure.dpi, **savefig)
    return buffer.getvalue()


__all__ = ["FONT_FILE", "cjk_font", "font_path", "new_figure", "png_bytes", "use_font"]
