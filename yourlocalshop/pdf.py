"""The shop's PDF documents (invoices, credit notes, packing slips), through fpdf2.

fpdf2 is the project's one PDF library: pure Python from wheels (its dependencies fontTools,
Pillow and defusedxml are wheels too), so `make run` and the Docker image need no system
package and render byte-for-byte the same layout. It embeds TrueType fonts as subsets, falls back
from one font to the next per character, and lays out tables that repeat their heading row on
every page. The bundled fonts (`yourlocalshop/fonts/`, licences there) cover Latin with its
extensions, Greek, Cyrillic and Chinese/Japanese/Korean.

`ShopPdf` is an A4 document in millimetres with those fonts and a footer carrying the document's
name and "Page n of N"; apps draw their own content on it.
"""

from decimal import Decimal
from pathlib import Path

from fpdf import FPDF

FONTS_DIR = Path(__file__).resolve().parent / "fonts"
FONT = "DejaVuSans"
CJK_FALLBACK = "DroidSansFallback"
MARGIN = 15  # mm
SMALL, NORMAL, HEADING, TITLE = 8, 9.5, 11, 18  # pt


class ShopPdf(FPDF):
    def __init__(self, *, title: str, footer_text: str = "") -> None:
        super().__init__(orientation="portrait", unit="mm", format="A4")
        self.footer_text = footer_text
        self.set_title(title)
        self.set_creator("YourLocalShop")
        self.set_margins(MARGIN, MARGIN, MARGIN)
        self.set_auto_page_break(auto=True, margin=MARGIN + 8)
        self.add_font(FONT, "", FONTS_DIR / "DejaVuSans.ttf")
        self.add_font(FONT, "B", FONTS_DIR / "DejaVuSans-Bold.ttf")
        self.add_font(CJK_FALLBACK, "", FONTS_DIR / "DroidSansFallback-CJK.ttf")
        # Bold text in a CJK name falls back to the regular CJK face instead of failing.
        self.set_fallback_fonts([CJK_FALLBACK], exact_match=False)
        self.set_font(FONT, size=NORMAL)
        self.add_page()

    def footer(self) -> None:
        self.set_y(-MARGIN)
        self.set_font(FONT, size=SMALL)
        self.set_text_color(90)
        text = f"Page {self.page_no()} of {{nb}}"
        if self.footer_text:
            text = f"{self.footer_text} · {text}"
        self.cell(0, 5, text, align="R")
        self.set_text_color(0)

    def lines_block(self, x: float, width: float, heading: str, lines: list[str]) -> float:
        """A heading and lines (wrapped to `width`) from the current y at `x`; returns the y
        below it."""
        top = self.get_y()
        self.set_xy(x, top)
        self.set_font(FONT, "B", NORMAL)
        self.cell(width, 5, heading, new_x="LEFT", new_y="NEXT")
        self.set_font(FONT, "", NORMAL)
        for line in lines:
            self.set_x(x)
            self.multi_cell(width, 4.6, line, new_x="LEFT", new_y="NEXT")
        return self.get_y()

    def render(self) -> bytes:
        return bytes(self.output())


def amount(value: Decimal, currency: str = "") -> str:
    """An amount as documents print it: two decimals, grouped thousands, the code after it."""
    text = f"{value:,.2f}"
    return f"{text} {currency}" if currency else text
