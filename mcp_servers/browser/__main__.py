"""`python -m mcp_servers.browser [--http PORT]`: run the browser server on stdio or streamable HTTP."""

import sys

from mcp_servers.browser.server import main

main(sys.argv[1:])
