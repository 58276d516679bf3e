"""Where text sits on a page: pdfium's text of one page and the boxes of its characters, computed on demand.

The KPI ledger uses it to tie a number to its column (the column header above it says which year or quarter) and
to tell a table cell from a page number or a heading. Boxes are in PDF points with the origin at the top-left
(y grows downwards, as people read). Computing the box of every character of a dense page costs ~15 ms through
ctypes, so only the characters asked for are measured; a few recently used pages stay open.
"""

from __future__ import annotations

import atexit
import ctypes
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c

OPEN_PAGES = 8

Box = tuple[float, float, float, float]
"""(left, top, right, bottom) in points from the page's top-left corner."""


@dataclass
class PageLayout:
    """One page's text (pdfium order, one character per index) and character boxes on demand."""

    text: str
    width: float
    height: float
    _pdf: pdfium.PdfDocument
    _textpage: pdfium.PdfTextPage
    _boxes: dict[int, Box] = field(default_factory=dict)
    memo: dict[str, object] = field(default_factory=dict)
    """What callers derive from the page once (a page's text and boxes never change)."""

    def char_box(self, index: int) -> Box | None:
        """The box of character `index`, None for a character without one (a generated space or line break)."""
        if index in self._boxes:
            return self._boxes[index]
        left, right, bottom, top = (ctypes.c_double() for _ in range(4))
        with _lock:
            ok = pdfium_c.FPDFText_GetCharBox(
                self._textpage, index, ctypes.byref(left), ctypes.byref(right), ctypes.byref(bottom), ctypes.byref(top)
            )
        box = (left.value, self.height - top.value, right.value, self.height - bottom.value) if ok else None
        if box is not None and box[2] - box[0] <= 0 and box[3] - box[1] <= 0:
            box = None
        self._boxes[index] = box  # type: ignore[assignment]
        return box

    def span_box(self, start: int, end: int) -> Box | None:
        """The union of the boxes of characters start..end-1 that are not spaces."""
        boxes = [b for i in range(start, end) if not self.text[i].isspace() and (b := self.char_box(i))]
        if not boxes:
            return None
        return (min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes))

    def close(self) -> None:
        with _lock:
            self._textpage.close()
            self._pdf.close()


_lock = threading.RLock()  # pdfium is not thread-safe
_open: OrderedDict[tuple[str, int], PageLayout] = OrderedDict()


@atexit.register
def close_all() -> None:
    """Close the pages kept open (pdfium warns about every object still open when the process exits)."""
    with _lock:
        while _open:
            _open.popitem()[1].close()


def page_layout(path: str | Path, number: int) -> PageLayout | None:
    """The layout of 1-based page `number` of the PDF at `path`; None when the file or the page cannot be read."""
    key = (str(path), number)
    with _lock:
        if key in _open:
            _open.move_to_end(key)
            return _open[key]
        try:
            pdf = pdfium.PdfDocument(str(path))
        except (pdfium.PdfiumError, OSError):
            return None
        if not 1 <= number <= len(pdf):
            pdf.close()
            return None
        page = pdf[number - 1]
        width, height = page.get_size()
        textpage = page.get_textpage()
        count = textpage.count_chars()
        text = textpage.get_text_range(0, count) if count > 0 else ""
        if len(text) != count:  # the 1:1 index between text and boxes would not hold
            textpage.close()
            pdf.close()
            return None
        layout = PageLayout(text, width, height, pdf, textpage)
        _open[key] = layout
        while len(_open) > OPEN_PAGES:
            _, old = _open.popitem(last=False)
            old.close()
        return layout
