"""Every table the migrations create, for the tests that compare the migrated schema with the models.

Each feature keeps its SQLModel tables in its own module (storage/models.py holds the core ones) and adds
them here with one line.
"""

from __future__ import annotations

from sqlmodel import SQLModel

from storage.models import TABLES as CORE_TABLES

TABLES: tuple[type[SQLModel], ...] = (*CORE_TABLES,)
"""All mapped tables, in dependency order."""
