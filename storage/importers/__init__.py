"""Importers that fill a workspace's tables from files a coordinator can read and edit."""

from storage.importers.calendar import (
    CalendarData,
    CalendarRow,
    ImportResult,
    ImportValidationError,
    KindCounts,
    RowError,
    bundled_calendar_path,
    import_calendar,
    load_calendar,
    seed_workspace,
)

__all__ = [
    "CalendarData",
    "CalendarRow",
    "ImportResult",
    "ImportValidationError",
    "KindCounts",
    "RowError",
    "bundled_calendar_path",
    "import_calendar",
    "load_calendar",
    "seed_workspace",
]
