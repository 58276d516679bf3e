"""`python -m mcp_servers.pdf_reader [--http PORT]`: run the pdf_reader server on stdio or streamable HTTP."""

import sys

from mcp_servers.pdf_reader.server import main

main(sys.argv[1:])
