"""`python -m mcp_servers.skills_hub [--http PORT]`: run the skills_hub server on stdio or streamable HTTP."""

import sys

from mcp_servers.skills_hub.server import main

main(sys.argv[1:])
