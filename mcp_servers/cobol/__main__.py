"""`python -m mcp_servers.cobol [--http PORT]`: run the cobol server on stdio or streamable HTTP."""

import sys

from mcp_servers.cobol.server import main

main(sys.argv[1:])
