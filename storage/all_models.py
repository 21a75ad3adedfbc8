"""Imports every module that defines tables, so SQLModel.metadata (and Alembic) sees them all.

A feature that adds tables in its own module adds it here.
"""

from storage import models, models_admin, models_feedback, models_outbox

__all__ = ["models", "models_admin", "models_feedback", "models_outbox"]
