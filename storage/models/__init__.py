"""Every SQLModel table, split by domain; import any model as `from storage.models import X`.

- calendar: deadlines, meetings and done marks on deadline occurrences
- directory: municipalities, schools and contacts
- workspace: a workspace's settings, coordinators, calendar feed, imports and audit trail
- outbox: scheduled messages (reminders, feedback prompts) and the alerts about them
- feedback: the tour plan (productions, performances) and evaluation answers
- changes: change-request rounds on the tour plan, schools' answers and their requests
- requests: the replay guard's keys (requests already acted on)
- base: the clock and the UTC instant column type they share

Importing this package registers every table on SQLModel.metadata, which Alembic
(storage/migrations/env.py) compares against; a new table module is imported here.
"""

from storage.models.base import UTCDateTime, utcnow
from storage.models.calendar import (
    CalendarItemBase,
    DatePrecision,
    Deadline,
    DeadlineBase,
    DeadlineDone,
    Meeting,
    MeetingBase,
    MeetingForm,
)
from storage.models.changes import (
    OPEN_STATUSES,
    AnswerKind,
    ChangeAnswer,
    ChangeReason,
    ChangeRequest,
    ChangeRound,
    ChangeStatus,
)
from storage.models.directory import (
    KULTURKONTAKT_INDEX,
    Contact,
    ContactBase,
    Municipality,
    MunicipalityBase,
    School,
    SchoolBase,
)
from storage.models.feedback import (
    ArtForm,
    FeedbackAnswer,
    Performance,
    Production,
    PupilHosts,
    TourplanState,
)
from storage.models.outbox import OutboxAlert, OutboxMessage, OutboxState, outbox_marker
from storage.models.requests import RequestReplay
from storage.models.workspace import (
    AuditEntry,
    CalendarFeed,
    Coordinator,
    DataVersion,
    PendingImport,
    ReminderChannelChange,
    UserLanguage,
    Workspace,
)

__all__ = [
    "KULTURKONTAKT_INDEX",
    "OPEN_STATUSES",
    "AnswerKind",
    "ArtForm",
    "AuditEntry",
    "CalendarFeed",
    "CalendarItemBase",
    "ChangeAnswer",
    "ChangeReason",
    "ChangeRequest",
    "ChangeRound",
    "ChangeStatus",
    "Contact",
    "ContactBase",
    "Coordinator",
    "DataVersion",
    "DatePrecision",
    "Deadline",
    "DeadlineBase",
    "DeadlineDone",
    "FeedbackAnswer",
    "Meeting",
    "MeetingBase",
    "MeetingForm",
    "Municipality",
    "MunicipalityBase",
    "OutboxAlert",
    "OutboxMessage",
    "OutboxState",
    "PendingImport",
    "Performance",
    "Production",
    "PupilHosts",
    "ReminderChannelChange",
    "RequestReplay",
    "School",
    "SchoolBase",
    "TourplanState",
    "UTCDateTime",
    "UserLanguage",
    "Workspace",
    "outbox_marker",
    "utcnow",
]
