"""`python -m mcp_servers.workspace [--http PORT]`: run the workspace server on stdio or streamable HTTP."""

import sys

from mcp_servers.workspace.server import main

main(sys.argv[1:])
