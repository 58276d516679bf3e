"""`python -m mcp_servers.analysis [--http PORT]`: run the analysis server on stdio or streamable HTTP."""

import sys

from mcp_servers.analysis.server import main

main(sys.argv[1:])
