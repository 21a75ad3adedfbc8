"""Persistence: SQLModel tables, engine/session, keyword-only query functions."""
