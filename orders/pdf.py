"""A minimal PDF 1.4 writer: pages of positioned text in the standard Helvetica fonts.

Enough for an invoice and free of dependencies. Text is encoded in WinAnsi (Latin-1 plus the euro
sign); characters outside it are replaced, never dropped silently.
"""

from dataclasses import dataclass, field

PAGE_WIDTH, PAGE_HEIGHT = 595, 842  # A4 in points
FONTS = {"regular": "F1", "bold": "F2"}


@dataclass
class PdfText:
    x: float
    y: float
    text: str
    size: float = 10
    font: str = "regular"


@dataclass
class PdfDocument:
    pages: list[list[PdfText]] = field(default_factory=lambda: [[]])

    def text(self, x: float, y: float, text: str, *, size: float = 10, bold: bool = False):
        self.pages[-1].append(PdfText(x, y, text, size, "bold" if bold else "regular"))

    def new_page(self) -> None:
        self.pages.append([])

    def render(self) -> bytes:
        return _render(self.pages)


def _encode(text: str) -> bytes:
    raw = text.replace("€", "\x80").encode("cp1252", errors="replace")
    return raw.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)")


def _render(pages: list[list[PdfText]]) -> bytes:
    objects: list[bytes] = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"",  # the page tree, filled in once the page object numbers are known
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold /Encoding /WinAnsiEncoding >>",
    ]
    page_numbers = []
    for page in pages:
        stream = b"".join(
            b"BT /%s %.1f Tf %.2f %.2f Td (%s) Tj ET\n"
            % (FONTS[item.font].encode(), item.size, item.x, item.y, _encode(item.text))
            for item in page
        )
        objects.append(b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream))
        content_number = len(objects)
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %d %d] /Contents %d 0 R "
            b"/Resources << /Font << /F1 3 0 R /F2 4 0 R >> >> >>"
            % (PAGE_WIDTH, PAGE_HEIGHT, content_number)
        )
        page_numbers.append(len(objects))
    kids = b" ".join(b"%d 0 R" % number for number in page_numbers)
    objects[1] = b"<< /Type /Pages /Kids [%s] /Count %d >>" % (kids, len(page_numbers))

    output = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(output))
        output += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref_at = len(output)
    output += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    output += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    output += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref_at,
    )
    return bytes(output)
