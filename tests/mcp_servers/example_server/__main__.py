"""`python -m tests.mcp_servers.example_server [--http PORT]`: run the example server on stdio or streamable HTTP."""

import sys

from tests.mcp_servers.example_server.server import main

main(sys.argv[1:])
