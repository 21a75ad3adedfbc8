"""What the form opens with: the sender's answers they can still edit, or one performance
and the sender's answer to it. A notice instead when that performance cannot be answered."""

from __future__ import annotations

from slack_sdk.models.views import View

from handlers.core.access import Actor
from handlers.core.blocks import notice_modal
from handlers.core.i18n import _
from handlers.core.services import Services
from handlers.feedback.forms import FORM_TITLE, EditableAnswer, feedback_modal
from handlers.feedback.views import PERFORMANCE_GONE, cancelled_text
from storage.feedback import editable_answer, editable_answers, respondent_key
from storage.tourplan import get_performance


def _key(services: Services, who: Actor) -> str:
    return respondent_key(services.settings.secret_key, who.team_id, who.user_id)


def empty_form(services: Services, who: Actor) -> View:
    with services.session() as session:
        editable = [
            EditableAnswer(answer.performance_id, title, starts_at)
            for answer, title, starts_at in editable_answers(
                session=session, team_id=who.team_id, key=_key(services, who), now=services.clock()
            )
        ]
    return feedback_modal(tz=services.settings.timezone, editable=editable)


def performance_form(services: Services, who: Actor, performance_id: int) -> View:
    tz = services.settings.timezone
    with services.session() as session:
        performance = get_performance(
            session=session, team_id=who.team_id, performance_id=performance_id
        )
        existing = None
        if performance is not None:
            existing = editable_answer(
                session=session,
                team_id=who.team_id,
                performance_id=performance_id,
                key=_key(services, who),
                user_id=who.user_id,
                now=services.clock(),
            )
    if performance is None:
        return notice_modal(_(PERFORMANCE_GONE), title=_(FORM_TITLE))
    if performance.cancelled:
        return notice_modal(cancelled_text(performance, tz), title=_(FORM_TITLE))
    return feedback_modal(tz=tz, performance=performance, existing=existing)
