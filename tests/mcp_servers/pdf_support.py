"""Small real PDFs for the pdf_reader tests: text pages written by hand, encrypted, empty, image-only, and cut
from the FinanceBench reports. Nothing is faked: pdfium and pypdf parse every one of them."""

from __future__ import annotations

import io
from collections.abc import Iterable
from pathlib import Path

import pypdf

DATA = Path(__file__).resolve().parents[2] / "../shared/data/financebench"
PDFS = DATA / "pdfs"


def financebench_pdf(name: str) -> Path:
    """Path of a FinanceBench PDF (callers skip when it is absent)."""
    return PDFS / f"{name}.pdf"


def have_financebench(*names: str) -> bool:
    return all(financebench_pdf(n).is_file() for n in names)


def _escape(line: str) -> str:
    return line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def text_pdf(pages: Iterable[str], title: str | None = None) -> bytes:
    """A PDF with one Helvetica text page per item (lines split on newlines); optional /Title metadata."""
    streams = []
    for text in pages:
        ops = ["BT", "/F1 11 Tf", "14 TL", "50 780 Td"] + [f"({_escape(line)}) Tj T*" for line in text.split("\n")]
        streams.append("\n".join([*ops, "ET"]))
    return _raw_pdf(streams, title)


def positioned_pdf(pages: Iterable[Iterable[tuple[float, float, str]]]) -> bytes:
    """A PDF whose pages hold text pieces at given places: (x, y from the top, text), Helvetica 9 pt — a table
    with real columns, as statements print them."""
    streams = []
    for cells in pages:
        ops = ["BT", "/F1 9 Tf"] + [f"1 0 0 1 {x} {792 - y} Tm ({_escape(text)}) Tj" for x, y, text in cells]
        streams.append("\n".join([*ops, "ET"]))
    return _raw_pdf(streams)


def _raw_pdf(streams: list[str], title: str | None = None) -> bytes:
    """A PDF of one page per content stream (Helvetica as /F1), written object by object with its xref table."""
    objects: list[bytes] = [  # object i+1; the page tree (2) is filled in once the pages are known
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    page_ids = []
    for ops in streams:
        stream = ops.encode("latin-1")
        objects.append(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream")
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 3 0 R >> >> "
            b"/Contents %d 0 R >>" % len(objects)
        )
        page_ids.append(len(objects))
    kids = b" ".join(b"%d 0 R" % i for i in page_ids)
    objects[1] = b"<< /Type /Pages /Kids [%s] /Count %d >>" % (kids, len(page_ids))
    info = None
    if title is not None:
        objects.append(b"<< /Title (%s) >>" % _escape(title).encode("latin-1"))
        info = len(objects)
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % number + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for offset in offsets:
        out.write(b"%010d 00000 n \n" % offset)
    trailer = b"<< /Size %d /Root 1 0 R" % (len(objects) + 1)
    if info is not None:
        trailer += b" /Info %d 0 R" % info
    out.write(b"trailer\n" + trailer + b" >>\nstartxref\n%d\n%%%%EOF\n" % xref)
    return out.getvalue()


def image_only_pdf(pages: int = 2) -> bytes:
    """Pages with drawn shapes and no text layer, like a scan."""
    writer = pypdf.PdfWriter()
    for _ in range(pages):
        page = writer.add_blank_page(612, 792)
        stream = pypdf.generic.DecodedStreamObject()
        stream.set_data(b"0 0 1 rg 100 100 300 400 re f 1 0 0 rg 150 600 200 50 re f")
        page[pypdf.generic.NameObject("/Contents")] = writer._add_object(stream)
    return _written(writer)


def zero_page_pdf() -> bytes:
    """A well-formed PDF whose page tree is empty."""
    return _written(pypdf.PdfWriter())


def encrypted_pdf(password: str, pages: Iterable[str] = ("Secret revenue 1,234",)) -> bytes:
    """A text PDF encrypted with AES-256 under `password`."""
    writer = pypdf.PdfWriter(clone_from=io.BytesIO(text_pdf(pages)))
    writer.encrypt(password, algorithm="AES-256")
    return _written(writer)


def excerpt(source: Path, first: int, last: int) -> bytes:
    """Pages first..last (1-based) of a real PDF, as a small PDF of their own."""
    reader = pypdf.PdfReader(source)
    writer = pypdf.PdfWriter()
    for index in range(first - 1, last):
        writer.add_page(reader.pages[index])
    return _written(writer)


def _written(writer: pypdf.PdfWriter) -> bytes:
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()
