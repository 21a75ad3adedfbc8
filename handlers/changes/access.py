"""Who may act for a school: its own kulturkontakt, or a coordinator. Declared once, as
listener middleware where the listeners are wired (handlers/changes/__init__.py), never checked
by hand inside them.

Each rule reads, from what Slack sent, which school the request is about: a button's
«round:school», a request id (its school), a form's metadata or its chosen school. A request
that names no school («Meld endring» without one) needs the user to serve at least one. A
payload that names nothing the bot knows goes through to the listener, which says it is gone.
The middleware leaves `as_coordinator` in the context: storage needs it for the write, and
the listener must not ask again.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

from slack_bolt import BoltRequest, BoltResponse

from handlers.changes.forms import SCHOOL_BLOCK, VALUE_ACTION, Meta
from handlers.changes.views import NOT_THEIRS, parse_school_value
from handlers.core.access import CoordinatorOnly, actor, is_coordinator
from handlers.core.services import Services
from handlers.core.values import row_id
from storage.changes import get_request, may_act_for, schools_of

AS_COORDINATOR = "as_coordinator"
ANY: Literal["any"] = "any"
# The school a request is about; ANY: none named (the user must serve one); None: nothing
# the bot knows (the listener answers).
Wanted = int | Literal["any"] | None
Resolver = Callable[[dict[str, Any], Services, str], Wanted]


class ForTheSchool(CoordinatorOnly):
    """Listener middleware: a coordinator, or the kulturkontakt of the school the request is
    about (`school_of` reads which); anyone else is answered in the surface's own form."""

    def __init__(self, school_of: Resolver, refusal: str = NOT_THEIRS) -> None:
        super().__init__(refusal)
        self.school_of = school_of

    def process(
        self, *, req: BoltRequest, resp: BoltResponse, next: Callable[[], BoltResponse]
    ) -> BoltResponse | None:
        context = req.context
        client = context.client
        assert client is not None
        services: Services = context["services"]
        who = actor(req.body, context)
        coordinator = is_coordinator(services, client, who)
        context[AS_COORDINATOR] = coordinator
        if coordinator:
            return next()
        wanted = self.school_of(req.body, services, who.team_id)
        if wanted is None or not who.team_id or not who.user_id:
            return next()
        with services.session() as session:
            if wanted == ANY:
                allowed = bool(
                    schools_of(session=session, team_id=who.team_id, user_id=who.user_id)
                )
            else:
                allowed = may_act_for(
                    session=session,
                    team_id=who.team_id,
                    user_id=who.user_id,
                    school_id=wanted,
                    as_coordinator=False,
                )
        if allowed:
            return next()
        return self.refuse(req, client)


# --- which school ------------------------------------------------------------------------------


def _action_value(body: dict[str, Any]) -> object:
    actions = body.get("actions")
    first = actions[0] if isinstance(actions, list) and actions else None
    return first.get("value") if isinstance(first, dict) else None


def _view(body: dict[str, Any]) -> dict[str, Any]:
    view = body.get("view")
    return view if isinstance(view, dict) else {}


def _school_of_request(services: Services, team_id: str, request_id: int | None) -> Wanted:
    if request_id is None or not team_id:
        return None
    with services.session() as session:
        line = get_request(
            session=session,
            team_id=team_id,
            request_id=request_id,
            tz=services.settings.timezone,
        )
    return line.school.id if line is not None else None


def school_in_button(body: dict[str, Any], services: Services, team_id: str) -> Wanted:
    """«Meld endring», «Alt ser bra ut», «Se skolens endringer»: «round:school»."""
    value = parse_school_value(_action_value(body))
    if value.round_id is None:
        return None
    return value.school_id if value.school_id is not None else ANY


def school_of_request_button(body: dict[str, Any], services: Services, team_id: str) -> Wanted:
    """«Endre», «Trekk tilbake»: the request's id."""
    return _school_of_request(services, team_id, row_id(_action_value(body)))


def school_in_form(body: dict[str, Any], services: Services, team_id: str) -> Wanted:
    """The request form: an edit is about its request's school, a new one about the school
    it was opened for."""
    meta = Meta.load(_view(body).get("private_metadata"))
    if meta.request_id is not None:
        return _school_of_request(services, team_id, meta.request_id)
    return meta.school_id


def school_chosen(body: dict[str, Any], services: Services, team_id: str) -> Wanted:
    """«Hvilken skole?»: the school chosen (none chosen: the user must serve one)."""
    state = _view(body).get("state")
    values = state.get("values") if isinstance(state, dict) else None
    block = values.get(SCHOOL_BLOCK) if isinstance(values, dict) else None
    cell = block.get(VALUE_ACTION) if isinstance(block, dict) else None
    selected = cell.get("selected_option") if isinstance(cell, dict) else None
    value = selected.get("value") if isinstance(selected, dict) else None
    if value is None:
        return ANY
    return row_id(value)


ANSWERS_FOR_SCHOOL = ForTheSchool(school_in_button)
CHANGES_REQUEST = ForTheSchool(school_of_request_button)
FILES_REQUEST = ForTheSchool(school_in_form)
PICKS_SCHOOL = ForTheSchool(school_chosen)
