"""The change-request listeners: `/dks endringer`, opening a round, the kulturkontakt's buttons
(«Se turnéplanen», «Meld endring», «Alt ser bra ut»), the forms, editing and withdrawing, and
the coordinator's status menu, overview and export.

Who may do what is declared where the listeners are wired (__init__.py: `coordinator_only`,
and access.py's rules for a school's own kulturkontakt); nothing here checks it again. The
rule leaves `as_coordinator` in the context for storage. A form's submission is validated and
stored before its ack (field errors can only travel in it); everything else acks at once and
works after (Bolt's lazy listeners).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from slack_bolt import Ack, BoltContext, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session

from handlers.changes.access import AS_COORDINATOR
from handlers.changes.forms import (
    CLOSING_BLOCK,
    NO_PERFORMANCES,
    PERFORMANCE_BLOCK,
    REASON_BLOCK,
    SCHOOL_BLOCK,
    Meta,
    on_inputs,
    open_round_modal,
    pick_school_modal,
    read_closing_date,
    read_picked_school,
    read_request,
    request_modal,
)
from handlers.changes.notify import invite, invited_count, notify_status
from handlers.changes.views import (
    EXPORT_XLSX_ACTION,
    GONE,
    HAS_REQUESTS,
    NO_ROUND,
    NOT_THEIRS,
    STORE_FAILED,
    USAGE,
    coordinator_reply,
    decided_text,
    no_changes_recorded,
    no_round_reply,
    opened_modal,
    outsider_reply,
    own_schools_reply,
    parse_school_value,
    parse_status_value,
    plain_blocks,
    plan_modal,
    round_closed_text,
    round_modal,
    round_open_text,
    school_requests_modal,
    thanks_note,
    withdrawn_note,
)
from handlers.core.access import Actor, is_coordinator
from handlers.core.blocks import notice_modal
from handlers.core.commands import CommandRequest, Reply
from handlers.core.exports import tell_export_failed
from handlers.core.feature import Changed
from handlers.core.i18n import _
from handlers.core.lazy import logs_failures
from handlers.core.services import Services
from handlers.core.values import row_id
from storage.changes import (
    ChangeError,
    HasRequests,
    InvalidInput,
    NoRound,
    NotYourSchool,
    RequestDecided,
    RequestInput,
    RequestLine,
    RequestNotFound,
    RoundClosed,
    RoundOpened,
    RoundStillOpen,
    SchoolInRound,
    current_round,
    file_request,
    get_request,
    get_round,
    mark_no_changes,
    open_round,
    performances_of,
    requests_in_round,
    round_is_open,
    round_since,
    school_in_round,
    schools_in_round,
    schools_of,
    set_status,
    update_request,
    validate_request,
    withdraw_request,
)
from storage.folding import fold
from storage.models import ChangeRound, ChangeStatus

# `/dks endringer start`, in bokmål, nynorsk and English (compared folded).
START_WORDS = ("start", "starte", "ny", "apne", "opne", "open", "new", "begin")
# Where an ack leaves what it stored for the work after it (Bolt copies the context).
OPENED = "changes_opened"
SAVED = "changes_saved"


def starts_round(args: str) -> bool:
    """The subcommand's access rule: `start` writes (coordinators), the rest reads."""
    word = args.split(" ", 1)[0] if args else ""
    return bool(word) and fold(word) in START_WORDS


# --- helpers -----------------------------------------------------------------------------------


def _show(client: WebClient, body: dict[str, Any], view: View) -> None:
    """Open a modal, or push it over the modal the click came from."""
    trigger_id = str(body.get("trigger_id") or "")
    container = body.get("view")
    if isinstance(container, dict) and container.get("type") == "modal":
        client.views_push(trigger_id=trigger_id, view=view)
    else:
        client.views_open(trigger_id=trigger_id, view=view)


def _notice(client: WebClient, body: dict[str, Any], text: str) -> None:
    _show(client, body, notice_modal(text))


def _tell(client: WebClient, body: dict[str, Any], respond: Respond, text: str) -> None:
    """Say something where the click came from: an ephemeral reply under a message, else a
    small modal (over the Home tab or the modal clicked in)."""
    if body.get("response_url") and respond.response_url:
        respond(text=text, response_type="ephemeral", replace_original=False)
    else:
        _notice(client, body, text)


def _action_value(action: dict[str, Any]) -> object:
    selected = action.get("selected_option")
    if isinstance(selected, dict):
        return selected.get("value")
    return action.get("value")


def _announce(
    client: WebClient, services: Services, actor: Actor, logger: logging.Logger, *items: Any
) -> None:
    """Tell the other features (the Home tab, the deadline's reminders)."""
    services.events.publish(
        Changed(team_id=actor.team_id, user_id=actor.user_id, items=tuple(items)),
        client=client,
        services=services,
        logger=logger,
    )


def _in_round(
    session: Session, services: Services, round_: ChangeRound, school_id: int
) -> SchoolInRound | None:
    assert round_.id is not None
    return school_in_round(
        session=session,
        team_id=round_.team_id,
        round_id=round_.id,
        school_id=school_id,
        tz=services.settings.timezone,
    )


def _request_form(
    session: Session,
    services: Services,
    round_: ChangeRound,
    school: SchoolInRound,
    existing: RequestLine | None = None,
) -> View:
    assert round_.id is not None
    tz = services.settings.timezone
    performances = performances_of(
        session=session,
        team_id=round_.team_id,
        school_id=school.school.id,
        since=round_since(round_, tz),
    )
    return request_modal(
        round_id=round_.id,
        closing_date=round_.closing_date,
        school=school.school,
        performances=performances,
        tz=tz,
        now=services.clock(),
        existing=existing,
    )


def _list_modal(
    session: Session,
    services: Services,
    round_: ChangeRound,
    school: SchoolInRound,
    note: str | None = None,
) -> View:
    assert round_.id is not None
    requests = requests_in_round(
        session=session,
        team_id=round_.team_id,
        round_id=round_.id,
        tz=services.settings.timezone,
        school_id=school.school.id,
    )
    return school_requests_modal(
        round_id=round_.id,
        closing_date=round_.closing_date,
        school=school.school,
        requests=requests,
        open_=round_is_open(round_, today=services.today()),
        note=note,
    )


# --- /dks endringer ----------------------------------------------------------------------------


def run_changes(request: CommandRequest) -> Reply:
    """`/dks endringer` shows the round; `… start` opens the form for a new one (the
    subcommand's rule let only a coordinator this far)."""
    args = request.args.strip()
    if starts_round(args):
        return Reply("", after=lambda: _open_round_form(request))
    if args:
        usage = _(USAGE)
        return Reply(usage, plain_blocks(usage))
    text, blocks = _state(request)
    return Reply(text, blocks)


def _open_round_form(request: CommandRequest) -> None:
    request.client.views_open(
        trigger_id=request.trigger_id, view=open_round_modal(today=request.services.today())
    )


def _state(request: CommandRequest) -> tuple[str, list[Block]]:
    services = request.services
    who = Actor(team_id=request.team_id, user_id=request.user_id)
    coordinator = is_coordinator(services, request.client, who)
    today = services.today()
    tz = services.settings.timezone
    with services.session() as session:
        round_ = current_round(session=session, team_id=request.team_id)
        if round_ is None or round_.id is None:
            return no_round_reply(coordinator=coordinator)
        schools = schools_in_round(
            session=session, team_id=request.team_id, round_id=round_.id, tz=tz
        )
        if coordinator:
            return coordinator_reply(round_=round_, schools=schools, today=today)
        mine = {
            s.id
            for s in schools_of(session=session, team_id=request.team_id, user_id=request.user_id)
        }
    own = [s for s in schools if s.school.id in mine and s.performances]
    if own:
        return own_schools_reply(round_=round_, schools=own, today=today)
    return outsider_reply(round_, today)


# --- opening a round ---------------------------------------------------------------------------


@logs_failures
def open_start(body: dict[str, Any], client: WebClient, services: Services) -> None:
    """«Start endringsrunde» (coordinators: `coordinator_only`)."""
    _show(client, body, open_round_modal(today=services.today()))


class _NoSchools(Exception):
    """No school has performances: the round is not stored."""


@dataclass(frozen=True)
class _Opened:
    round_id: int
    deadline_id: int


def submit_round(
    ack: Ack, view: dict[str, Any], services: Services, actor: Actor, context: BoltContext
) -> None:
    """The closing date (coordinators: `coordinator_only`): the round and its deadline are
    stored before the ack, or a field error comes back."""
    closing, errors = read_closing_date(view)
    if errors or closing is None:
        ack(response_action="errors", errors=errors)
        return
    tz = services.settings.timezone
    try:
        with services.session(write=True) as session:
            opened = open_round(
                session=session,
                team_id=actor.team_id,
                closing_date=closing,
                user_id=actor.user_id,
                now=services.clock(),
                tz=tz,
            )
            if not any(s.performances for s in opened.schools):
                raise _NoSchools
    except InvalidInput as invalid:
        ack(
            response_action="errors",
            errors=on_inputs(invalid.errors, [CLOSING_BLOCK], CLOSING_BLOCK),
        )
        return
    except RoundStillOpen as still:
        ack(response_action="errors", errors={CLOSING_BLOCK: round_open_text(still.closing_date)})
        return
    except _NoSchools:
        ack(response_action="errors", errors={CLOSING_BLOCK: _(NO_PERFORMANCES)})
        return
    except SQLAlchemyError:
        logging.getLogger(__name__).exception("opening a change round failed")
        ack(response_action="errors", errors={CLOSING_BLOCK: _(STORE_FAILED)})
        return
    assert opened.round.id is not None
    ack(response_action="update", view=opened_modal(opened, invited=invited_count(opened)))
    context[OPENED] = _Opened(opened.round.id, opened.deadline_id)


@logs_failures
def after_round_opened(
    context: BoltContext,
    client: WebClient,
    services: Services,
    actor: Actor,
    logger: logging.Logger,
) -> None:
    """After the ack: the kulturkontakter's DMs, and the deadline's reminders and the Home
    tab (the `Changed` event)."""
    opened = context.get(OPENED)
    if not isinstance(opened, _Opened):
        return
    tz = services.settings.timezone
    with services.session() as session:
        round_ = get_round(session=session, team_id=actor.team_id, round_id=opened.round_id)
        if round_ is None:
            return
        schools = schools_in_round(
            session=session, team_id=actor.team_id, round_id=opened.round_id, tz=tz
        )
    sent = invite(
        client,
        services,
        team_id=actor.team_id,
        opened=RoundOpened(
            round=round_,
            deadline_id=opened.deadline_id,
            schools=schools,
            without_kulturkontakt=[s for s in schools if not s.kulturkontakt_users],
            followups=0,
        ),
        logger=logger,
    )
    logger.info("change round %s opened: %d DMs", opened.round_id, sent)
    _announce(client, services, actor, logger, ("deadline", opened.deadline_id))


# --- a school's buttons ------------------------------------------------------------------------


@logs_failures
def show_plan(
    body: dict[str, Any],
    action: dict[str, Any],
    client: WebClient,
    services: Services,
    actor: Actor,
) -> None:
    """«Se turnéplanen»: the school's performances in the round (anyone may read them)."""
    value = parse_school_value(action.get("value"))
    if value.round_id is None or value.school_id is None:
        _notice(client, body, _(GONE))
        return
    tz = services.settings.timezone
    with services.session() as session:
        round_ = get_round(session=session, team_id=actor.team_id, round_id=value.round_id)
        school = _in_round(session, services, round_, value.school_id) if round_ else None
        if round_ is None or school is None:
            view = notice_modal(_(GONE))
        else:
            performances = performances_of(
                session=session,
                team_id=actor.team_id,
                school_id=value.school_id,
                since=round_since(round_, tz),
            )
            view = plan_modal(
                school=school.school,
                performances=performances,
                tz=tz,
                round_id=round_.id,
                closing_date=round_.closing_date,
                open_=round_is_open(round_, today=services.today()),
            )
    _show(client, body, view)


@logs_failures
def open_report(
    body: dict[str, Any],
    action: dict[str, Any],
    client: WebClient,
    services: Services,
    actor: Actor,
    context: BoltContext,
) -> None:
    """«Meld endring»: the form for the school named, else for the user's one school, else
    «Hvilken skole?» first (the rule: the school's kulturkontakt, or a coordinator)."""
    value = parse_school_value(action.get("value"))
    coordinator = bool(context.get(AS_COORDINATOR))
    with services.session() as session:
        round_ = (
            get_round(session=session, team_id=actor.team_id, round_id=value.round_id)
            if value.round_id is not None
            else None
        )
        view = _report_view(session, services, actor, round_, value.school_id, coordinator)
    _show(client, body, view)


def _report_view(
    session: Session,
    services: Services,
    actor: Actor,
    round_: ChangeRound | None,
    school_id: int | None,
    coordinator: bool,
) -> View:
    if round_ is None or round_.id is None:
        return notice_modal(_(GONE))
    if not round_is_open(round_, today=services.today()):
        return notice_modal(round_closed_text(round_.closing_date))
    if school_id is not None:
        school = _in_round(session, services, round_, school_id)
        if school is None:
            return notice_modal(_(GONE))
        return _request_form(session, services, round_, school)
    tz = services.settings.timezone
    schools = [
        s
        for s in schools_in_round(session=session, team_id=actor.team_id, round_id=round_.id, tz=tz)
        if s.performances
    ]
    if not coordinator:
        mine = {
            r.id for r in schools_of(session=session, team_id=actor.team_id, user_id=actor.user_id)
        }
        schools = [s for s in schools if s.school.id in mine]
    if not schools:
        return notice_modal(_(NOT_THEIRS) if not coordinator else _(NO_PERFORMANCES))
    if len(schools) == 1:
        return _request_form(session, services, round_, schools[0])
    return pick_school_modal(round_id=round_.id, schools=[s.school for s in schools])


@logs_failures
def no_changes(
    body: dict[str, Any],
    action: dict[str, Any],
    client: WebClient,
    services: Services,
    actor: Actor,
    context: BoltContext,
    respond: Respond,
    logger: logging.Logger,
) -> None:
    """«Alt ser bra ut»: the school answered «no changes»; the message clicked says so."""
    value = parse_school_value(action.get("value"))
    if value.round_id is None or value.school_id is None:
        _tell(client, body, respond, _(GONE))
        return
    try:
        with services.session(write=True) as session:
            answered = mark_no_changes(
                session=session,
                team_id=actor.team_id,
                round_id=value.round_id,
                school_id=value.school_id,
                user_id=actor.user_id,
                as_coordinator=bool(context.get(AS_COORDINATOR)),
                now=services.clock(),
                tz=services.settings.timezone,
            )
            round_ = get_round(session=session, team_id=actor.team_id, round_id=value.round_id)
    except ChangeError as refused:
        _tell(client, body, respond, _refusal(refused))
        return
    assert round_ is not None and round_.id is not None
    text, blocks = no_changes_recorded(
        round_id=round_.id,
        closing_date=round_.closing_date,
        school=answered.school,
        user_id=actor.user_id,
        today=services.today(),
    )
    container = body.get("container")
    in_message = isinstance(container, dict) and container.get("type") == "message"
    if in_message and respond.response_url:
        respond(text=text, blocks=[b.to_dict() for b in blocks], replace_original=True)
    else:
        _notice(client, body, text)
    _announce(client, services, actor, logger)


def _refusal(refused: ChangeError) -> str:
    """What a user is told when storage refused (the rule let them this far)."""
    if isinstance(refused, RoundClosed):
        return round_closed_text(refused.closing_date)
    if isinstance(refused, HasRequests):
        return _(HAS_REQUESTS)
    if isinstance(refused, RequestDecided):
        return decided_text(refused.status)
    if isinstance(refused, NotYourSchool):
        return _(NOT_THEIRS)
    if isinstance(refused, InvalidInput):
        return " ".join(refused.errors.values())
    return _(GONE)  # NoRound, RequestNotFound


@logs_failures
def show_school_requests(
    body: dict[str, Any],
    action: dict[str, Any],
    client: WebClient,
    services: Services,
    actor: Actor,
) -> None:
    """«Se skolens endringer»: the school's requests, to edit or withdraw."""
    value = parse_school_value(action.get("value"))
    with services.session() as session:
        round_ = (
            get_round(session=session, team_id=actor.team_id, round_id=value.round_id)
            if value.round_id is not None
            else None
        )
        school = (
            _in_round(session, services, round_, value.school_id)
            if round_ is not None and value.school_id is not None
            else None
        )
        view = (
            _list_modal(session, services, round_, school)
            if round_ is not None and school is not None
            else notice_modal(_(GONE))
        )
    _show(client, body, view)


# --- a request's buttons -----------------------------------------------------------------------


def _load(
    session: Session, services: Services, actor: Actor, request_id: int | None
) -> tuple[RequestLine, ChangeRound, SchoolInRound] | None:
    if request_id is None:
        return None
    line = get_request(
        session=session,
        team_id=actor.team_id,
        request_id=request_id,
        tz=services.settings.timezone,
    )
    if line is None:
        return None
    round_ = get_round(session=session, team_id=actor.team_id, round_id=line.round_id)
    school = _in_round(session, services, round_, line.school.id) if round_ else None
    if round_ is None or school is None:
        return None
    return line, round_, school


@logs_failures
def open_edit(
    body: dict[str, Any],
    action: dict[str, Any],
    client: WebClient,
    services: Services,
    actor: Actor,
) -> None:
    """«Endre»: the form with the request in it, while it is «ny» and the round open."""
    with services.session() as session:
        found = _load(session, services, actor, row_id(action.get("value")))
        if found is None:
            view = notice_modal(_(GONE))
        else:
            line, round_, school = found
            if not round_is_open(round_, today=services.today()):
                view = notice_modal(round_closed_text(round_.closing_date))
            elif line.status != ChangeStatus.NEW.value:
                view = notice_modal(decided_text(line.status))
            else:
                view = _request_form(session, services, round_, school, existing=line)
    _show(client, body, view)


@logs_failures
def withdraw(
    body: dict[str, Any],
    action: dict[str, Any],
    client: WebClient,
    services: Services,
    actor: Actor,
    context: BoltContext,
    respond: Respond,
    logger: logging.Logger,
) -> None:
    """«Trekk tilbake» (Slack asked to confirm first): the list it was clicked in is drawn
    again without it."""
    request_id = row_id(action.get("value"))
    if request_id is None:
        _tell(client, body, respond, _(GONE))
        return
    try:
        with services.session(write=True) as session:
            line = withdraw_request(
                session=session,
                team_id=actor.team_id,
                request_id=request_id,
                user_id=actor.user_id,
                as_coordinator=bool(context.get(AS_COORDINATOR)),
                now=services.clock(),
                tz=services.settings.timezone,
            )
            found = _load(session, services, actor, request_id)
            view = (
                _list_modal(session, services, found[1], found[2], note=withdrawn_note(line))
                if found is not None
                else None
            )
    except ChangeError as refused:
        _tell(client, body, respond, _refusal(refused))
        return
    container = body.get("view")
    if view is not None and isinstance(container, dict) and container.get("type") == "modal":
        try:
            client.views_update(view_id=str(container.get("id") or ""), view=view)
        except SlackApiError as err:
            logger.warning("could not redraw the list: %s", err.response.get("error"))
    else:
        _tell(client, body, respond, withdrawn_note(line))
    _announce(client, services, actor, logger)


# --- the forms ---------------------------------------------------------------------------------


def submit_pick(ack: Ack, view: dict[str, Any], services: Services, actor: Actor) -> None:
    """«Hvilken skole?» (the rule checked the school chosen): the form for that school."""
    school_id, errors = read_picked_school(view)
    meta_round = Meta.load(view.get("private_metadata")).round_id
    if errors or school_id is None:
        ack(response_action="errors", errors=errors)
        return
    with services.session() as session:
        round_ = (
            get_round(session=session, team_id=actor.team_id, round_id=meta_round)
            if meta_round is not None
            else None
        )
        if round_ is None:
            form = notice_modal(_(GONE))
        elif not round_is_open(round_, today=services.today()):
            form = notice_modal(round_closed_text(round_.closing_date))
        else:
            school = _in_round(session, services, round_, school_id)
            if school is None or not school.performances:
                ack(response_action="errors", errors={SCHOOL_BLOCK: _(GONE)})
                return
            form = _request_form(session, services, round_, school)
    ack(response_action="update", view=form)


def _inputs(view: dict[str, Any]) -> list[str]:
    return [
        str(b.get("block_id"))
        for b in view.get("blocks") or []
        if isinstance(b, dict) and b.get("type") == "input"
    ]


def submit_request(
    ack: Ack,
    view: dict[str, Any],
    services: Services,
    actor: Actor,
    context: BoltContext,
    logger: logging.Logger,
) -> None:
    """The request form (the rule: the school's kulturkontakt, or a coordinator): stored
    before the ack, or every field error at once; nothing is stored half."""
    data, errors, meta = read_request(view)
    inputs = _inputs(view)
    first = PERFORMANCE_BLOCK if PERFORMANCE_BLOCK in inputs else REASON_BLOCK
    if meta.round_id is None or meta.school_id is None:
        ack(response_action="update", view=notice_modal(_(GONE)))
        return
    try:
        if errors:
            # The form's own checks failed (a date that is no date): storage's checks too, so
            # every error shows at once.
            with services.session() as session:
                found = validate_request(
                    session=session,
                    team_id=actor.team_id,
                    round_id=meta.round_id,
                    data=data,
                    now=services.clock(),
                    tz=services.settings.timezone,
                    request_id=meta.request_id,
                )
            raise InvalidInput({**found, **errors})
        line, answer = _store_request(
            services, actor, data, meta, coordinator=bool(context.get(AS_COORDINATOR))
        )
    except InvalidInput as invalid:
        ack(response_action="errors", errors=on_inputs(invalid.errors, inputs, first))
        return
    except (RoundClosed, RequestDecided) as refused:
        ack(response_action="errors", errors={first: _refusal(refused)})
        return
    except ChangeError as refused:  # NoRound, RequestNotFound, NotYourSchool
        ack(response_action="update", view=notice_modal(_refusal(refused)))
        return
    except SQLAlchemyError:
        logger.exception("storing a change request failed")
        ack(response_action="errors", errors={first: _(STORE_FAILED)})
        return
    ack(response_action="update", view=answer)
    context[SAVED] = line.id


def _store_request(
    services: Services, actor: Actor, data: RequestInput, meta: Meta, *, coordinator: bool
) -> tuple[RequestLine, View]:
    """File or update the request in one transaction; the school's list, with its thanks."""
    assert meta.round_id is not None
    tz = services.settings.timezone
    now = services.clock()
    with services.session(write=True) as session:
        if meta.request_id is None:
            line = file_request(
                session=session,
                team_id=actor.team_id,
                round_id=meta.round_id,
                data=data,
                user_id=actor.user_id,
                as_coordinator=coordinator,
                now=now,
                tz=tz,
            )
        else:
            line = update_request(
                session=session,
                team_id=actor.team_id,
                request_id=meta.request_id,
                data=data,
                user_id=actor.user_id,
                as_coordinator=coordinator,
                now=now,
                tz=tz,
            )
        round_ = get_round(session=session, team_id=actor.team_id, round_id=line.round_id)
        school = _in_round(session, services, round_, line.school.id) if round_ else None
        if round_ is None or school is None:
            raise NoRound(line.round_id)
        note = thanks_note(line, created=meta.request_id is None)
        return line, _list_modal(session, services, round_, school, note=note)


@logs_failures
def after_request_saved(
    context: BoltContext,
    client: WebClient,
    services: Services,
    actor: Actor,
    logger: logging.Logger,
) -> None:
    if context.get(SAVED) is not None:
        _announce(client, services, actor, logger)


# --- the coordinator's ---------------------------------------------------------------------------


@logs_failures
def show_round(
    body: dict[str, Any],
    client: WebClient,
    services: Services,
    actor: Actor,
) -> None:
    """«Se hele runden» (coordinators): every school and request, with status menus."""
    view = _round_view(services, actor.team_id) or notice_modal(_(NO_ROUND))
    _show(client, body, view)


def _round_view(services: Services, team_id: str) -> View | None:
    tz = services.settings.timezone
    with services.session() as session:
        round_ = current_round(session=session, team_id=team_id)
        if round_ is None or round_.id is None:
            return None
        schools = schools_in_round(session=session, team_id=team_id, round_id=round_.id, tz=tz)
        requests = requests_in_round(session=session, team_id=team_id, round_id=round_.id, tz=tz)
    return round_modal(round_=round_, schools=schools, requests=requests, today=services.today())


@logs_failures
def choose_status(
    body: dict[str, Any],
    action: dict[str, Any],
    client: WebClient,
    services: Services,
    actor: Actor,
    logger: logging.Logger,
) -> None:
    """A request's status menu (coordinators): stored, the kulturkontakt told in a DM, and
    the surface it was chosen on drawn again."""
    request_id, status = parse_status_value(_action_value(action))
    if request_id is None or status is None:
        logger.info("ignored a status choice that is none of ours")
        return
    try:
        with services.session(write=True) as session:
            change = set_status(
                session=session,
                team_id=actor.team_id,
                request_id=request_id,
                status=status,
                user_id=actor.user_id,
                now=services.clock(),
                tz=services.settings.timezone,
            )
    except (RequestNotFound, InvalidInput) as refused:
        _notice(client, body, _refusal(refused))
        return
    if change.changed:
        notify_status(
            client,
            services,
            team_id=actor.team_id,
            lines=[(change.request, change.notify)],
            logger=logger,
        )
    container = body.get("view")
    if isinstance(container, dict) and container.get("type") == "modal":
        view = _round_view(services, actor.team_id)
        if view is not None:
            try:
                client.views_update(view_id=str(container.get("id") or ""), view=view)
            except SlackApiError as err:
                logger.warning("could not redraw the round: %s", err.response.get("error"))
    _announce(client, services, actor, logger)


@logs_failures
def send_export(
    action: dict[str, Any],
    client: WebClient,
    services: Services,
    actor: Actor,
    logger: logging.Logger,
) -> None:
    """«Last ned som Excel/CSV» (coordinators): the file for the county, in a DM."""
    from handlers.changes.export import send_to_dm

    fmt = "xlsx" if action.get("action_id") == EXPORT_XLSX_ACTION else "csv"
    try:
        send_to_dm(services, client, actor, fmt, row_id(action.get("value")))
    except (SlackApiError, SQLAlchemyError, NoRound) as err:
        logger.exception("change export failed: %s", type(err).__name__)
        tell_export_failed(
            client, user_id=actor.user_id, command="dks-bot export endringer", logger=logger
        )
