"""Every table the migrations create, for the tests that compare the migrated schema with the models.

Each feature keeps its SQLModel tables in its own module (storage/models.py holds the core ones) and adds
them here with one line.
"""

from __future__ import annotations

from sqlmodel import SQLModel

from storage.approvals import TABLES as APPROVAL_TABLES
from storage.blobs import TABLES as BLOB_TABLES
from storage.chat_tools import TABLES as CHAT_TOOL_TABLES
from storage.cobol_sessions import TABLES as COBOL_TABLES
from storage.documents import TABLES as DOCUMENT_TABLES
from storage.ledger import TABLES as LEDGER_TABLES
from storage.models import TABLES as CORE_TABLES
from storage.page_indexes import TABLES as PAGE_INDEX_TABLES
from storage.redaction import TABLES as REDACTION_TABLES
from storage.skills import TABLES as SKILL_TABLES
from storage.swarms import TABLES as SWARM_TABLES

TABLES: tuple[type[SQLModel], ...] = (*CORE_TABLES, *DOCUMENT_TABLES, *LEDGER_TABLES, *SKILL_TABLES, *APPROVAL_TABLES,
                                     *COBOL_TABLES, *BLOB_TABLES, *REDACTION_TABLES, *SWARM_TABLES,
                                     *CHAT_TOOL_TABLES, *PAGE_INDEX_TABLES)
"""All mapped tables, in dependency order."""
