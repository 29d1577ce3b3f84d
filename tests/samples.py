"""Real files made in the tests: minimal but valid PDFs and DOCX packages (no library writes them for us)."""

import io
import zipfile
from xml.sax.saxutils import escape

from pypdf import PdfReader, PdfWriter


def make_pdf(pages: list[list[str]], title: str | None = None) -> bytes:
    """A minimal valid PDF: a Helvetica font, one content stream per page, exact xref offsets."""
    def string(s: str) -> bytes:
        return s.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)").encode("latin-1")

    kids = b" ".join(b"%d 0 R" % (4 + 2 * i) for i in range(len(pages)))
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>",
               b"<< /Type /Pages /Kids [%s] /Count %d >>" % (kids, len(pages)),
               b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    for i, lines in enumerate(pages):
        shows = b"".join(b"(%s) Tj T* " % string(line) for line in lines)
        stream = b"BT /F1 12 Tf 14 TL 72 720 Td %sET" % shows if lines else b""
        objects.append(b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
                       b"/Resources << /Font << /F1 3 0 R >> >> /Contents %d 0 R >>" % (5 + 2 * i))
        objects.append(b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream))
    if title:
        objects.append(b"<< /Title (%s) >>" % string(title))
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    info = b" /Info %d 0 R" % len(objects) if title else b""
    out += b"trailer\n<< /Size %d /Root 1 0 R%s >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, info, xref)
    return bytes(out)


def encrypted(pdf: bytes, user: str, owner: str | None = None) -> bytes:
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf)))
    writer.encrypt(user, owner)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
CONTENT_TYPES = ('<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
                 '<Default Extension="xml" ContentType="application/xml"/></Types>')


def w_p(text: str, style: str | None = None) -> str:
    tabs = '<w:tabs><w:tab w:val="left" w:pos="720"/></w:tabs>'  # a tab stop, not a tab character
    props = f'<w:pPr><w:pStyle w:val="{style}"/>{tabs}</w:pPr>' if style else ""
    return f'<w:p>{props}<w:r><w:t xml:space="preserve">{escape(text)}</w:t></w:r></w:p>'


def word_document(body: str) -> str:
    return (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            f'<w:document xmlns:w="{W}"><w:body>{body}</w:body></w:document>')


def make_docx(document: str | bytes, members: dict[str, str | bytes] | None = None) -> bytes:
    """A DOCX package: word/document.xml, and any other `members` (path -> content)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as package:
        package.writestr("[Content_Types].xml", CONTENT_TYPES)
        package.writestr("word/document.xml", document)
        for path, content in (members or {}).items():
            package.writestr(path, content)
    return out.getvalue()


# Five small documents, one per format, each holding facts the tests ask about.
LIBRARY = {
    "bridges.pdf": make_pdf([
        ["Old bridges of the northern valley, a survey."],
        ["The Zorblat bridge was built in 1887 by the engineer Hanna Lindqvist.",
         "It crosses the Mirren river with three stone arches."],
    ]),
    "orchard.md": b"# Orchard\n\nThe orchard grows apples on the north slope.\n\n"
                  b"## Harvest\n\nHarvest begins in October, when the apples turn red.",
    "bees.docx": make_docx(word_document(w_p("Bees", "Heading1") + w_p("The beekeeper keeps forty hives by the river."))),
    "shop.html": b"<html><head><title>Shop</title><script>window.pwned = 1</script></head><body><h1>Farm shop</h1>"
                 b"<p>The farm shop opens at nine o'clock and closes at five.</p></body></html>",
    "tea.txt": "The tea room serves café crème and lemon cake.".encode("cp1252"),
}
