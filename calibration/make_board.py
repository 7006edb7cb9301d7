"""Writes the printable calibration board: checkerboard.pdf (A4, true size) and checkerboard.png (300 dpi).

10 x 7 squares of 25 mm: 9 x 6 inner corners, the romcam default (``--board 9x6 --square-mm 25``).
Run from the project root: ``python calibration/make_board.py``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.backends.backend_pdf import FigureCanvasPdf
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

HERE = Path(__file__).resolve().parent
A4_MM = (210.0, 297.0)
SQUARE_MM = 25.0
SQUARES = (7, 10)  # across, down on the portrait page: 9 x 6 inner corners
MM_PER_INCH = 25.4


def board_figure() -> Figure:
    fig = Figure(figsize=(A4_MM[0] / MM_PER_INCH, A4_MM[1] / MM_PER_INCH))
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, A4_MM[0])
    ax.set_ylim(A4_MM[1], 0)
    ax.axis("off")
    x0 = (A4_MM[0] - SQUARES[0] * SQUARE_MM) / 2
    y0 = 20.0
    for i in range(SQUARES[0]):
        for j in range(SQUARES[1]):
            if (i + j) % 2 == 0:
                ax.add_patch(
                    Rectangle(
                        (x0 + i * SQUARE_MM, y0 + j * SQUARE_MM), SQUARE_MM, SQUARE_MM, color="black", linewidth=0
                    )
                )
    ax.text(
        A4_MM[0] / 2,
        y0 + SQUARES[1] * SQUARE_MM + 12,
        "romcam calibration board: 9 x 6 inner corners, "
        "25 mm squares. Print at 100 % (no scaling) and check one square with a ruler.",
        ha="center",
        va="top",
        fontsize=7,
        wrap=True,
    )
    return fig


def main() -> None:
    fig = board_figure()
    FigureCanvasPdf(fig)
    fig.savefig(HERE / "checkerboard.pdf")
    FigureCanvasAgg(fig)
    fig.savefig(HERE / "checkerboard.png", dpi=300)
    print(np.array(SQUARES) - 1, "inner corners written to calibration/checkerboard.{pdf,png}")


if __name__ == "__main__":
    main()
