"""Fill a PDF form: fill_form.py FORM.pdf VALUES.json OUT.pdf"""

import json
import sys

from pypdf import PdfReader, PdfWriter

form, values, out = sys.argv[1:4]
writer = PdfWriter(clone_from=PdfReader(form))
data = json.load(open(values, encoding="utf-8"))
for page in writer.pages:
    writer.update_page_form_field_values(page, data, auto_regenerate=False)
writer.write(out)
