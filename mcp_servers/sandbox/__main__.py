"""`python -m mcp_servers.sandbox [--http PORT]`: run the sandbox server on stdio or streamable HTTP."""

import sys

from mcp_servers.sandbox.server import main

main(sys.argv[1:])
