"""Imports every module that defines tables, so SQLModel.metadata (and Alembic) sees them all.

A feature that adds tables in its own module adds one import line here.
"""

import storage.models  # noqa: F401
