"""Print each AcroForm field of a PDF: name, type and current value."""

import sys

from pypdf import PdfReader

for name, field in (PdfReader(sys.argv[1]).get_fields() or {}).items():
    print(f"{name}\t{field.get('/FT')}\t{field.get('/V')}")
