"""Feedback after each performance: the modal, its type-ahead, the summary and the export.

- `/dks tilbakemelding` (alias `evaluering`) opens the form; «Gi tilbakemelding» in a prompt
  opens it prefilled with the performance (and with the sender's answer, to edit).
- The `view_submission` is validated and stored *before* the ack, because field errors can
  only travel in that ack; the store runs under a time budget well inside Slack's 3 seconds.
- `/dks tilbakemelding oppsummering [produksjon]`: averages for everyone, comments and the
  export buttons for coordinators only.
- Prompts and follow-ups are outbox kinds rendered here (see storage.feedback.sync_prompts).
"""

from __future__ import annotations

import logging
import re
import threading
import time
import weakref
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any, cast
from zoneinfo import ZoneInfo

from slack_bolt import Ack, App, BoltContext, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.models.blocks import Block
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session

from handlers.core.commands import COMMAND, CommandRequest, Reply, Subcommand
from handlers.core.feature import SectionRequest
from handlers.core.format import escape, norsk_dato, truncate
from handlers.core.frozen import FrozenBlock
from handlers.core.outbox_kinds import Kind, RenderedMessage
from handlers.core.services import Services
from handlers.views.feedback import (
    EXPORT_ALL,
    EXPORT_CSV_ACTION,
    EXPORT_XLSX_ACTION,
    FEEDBACK_CALLBACK_ID,
    FEEDBACK_OPEN_ACTION,
    PERFORMANCE_ACTION,
    PERFORMANCE_BLOCK,
    EditableAnswer,
    feedback_modal,
    missing_feedback_blocks,
    notice_view,
    parse_performance_value,
    performance_options_json,
    plain_section,
    prompt_blocks,
    read_form,
    summary_blocks,
    thanks_view,
    totals_intro,
    usage_text,
    when_text,
)
from storage.feedback import (
    FOLLOWUP_KIND,
    FORGET_KIND,
    PROMPT_KIND,
    AnswerInput,
    EditWindowClosed,
    editable_answer,
    editable_answers,
    forget_expired,
    has_answer,
    latest_comments,
    overview,
    performances_without_feedback,
    production_summaries,
    prompt_plan,
    respondent_key,
    store_answer,
)
from storage.feedback_export import export_filename, export_rows, render
from storage.folding import fold
from storage.models import OutboxMessage
from storage.tourplan import (
    MAX_SUGGESTIONS,
    feedback_target,
    find_productions,
    get_performance,
    performance_index,
)

# Validation plus storing must be done and acked well inside Slack's 3 seconds.
SUBMIT_BUDGET_SECONDS = 2.0
MIN_STORE_SECONDS = 0.3
SUMMARY_WORDS = ("oppsummering", "oversikt", "resultater", "resultat", "summary")
STORE_FAILED = (
    "Jeg fikk ikke lagret svaret akkurat nå. Det du har skrevet, står fortsatt her: "
    "trykk «Send» igjen om litt."
)
OPEN_ACTION_PATTERN = re.compile(rf"^{FEEDBACK_OPEN_ACTION}(_\d+)?$")


def _team(body: dict[str, Any], context: BoltContext) -> str:
    return (body.get("team") or {}).get("id") or context.team_id or ""


def _user(body: dict[str, Any], context: BoltContext) -> str:
    return (body.get("user") or {}).get("id") or context.user_id or ""


# --- opening the modal -------------------------------------------------------------------------


def _empty_modal(services: Services, team_id: str, user_id: str) -> Any:
    key = respondent_key(services.settings.secret_key, team_id, user_id)
    with services.session() as session:
        editable = [
            EditableAnswer(answer.performance_id, title, starts_at)
            for answer, title, starts_at in editable_answers(
                session=session, team_id=team_id, key=key, now=services.clock()
            )
        ]
    return feedback_modal(tz=services.settings.timezone, editable=editable)


def _performance_modal(services: Services, team_id: str, user_id: str, performance_id: int) -> Any:
    tz = services.settings.timezone
    key = respondent_key(services.settings.secret_key, team_id, user_id)
    with services.session() as session:
        performance = get_performance(
            session=session, team_id=team_id, performance_id=performance_id
        )
        existing = None
        if performance is not None:
            existing = editable_answer(
                session=session,
                team_id=team_id,
                performance_id=performance_id,
                key=key,
                user_id=user_id,
                now=services.clock(),
            )
    if performance is None:
        return notice_view(
            "Jeg finner ikke denne forestillingen lenger. Den kan være fjernet fra turneplanen. "
            f"Skriv `{COMMAND} tilbakemelding` for å velge en annen."
        )
    if performance.cancelled:
        return notice_view(
            f"«{escape(performance.title)}» på {escape(performance.school)} "
            f"{when_text(performance.starts_at, tz)} er avlyst, så den trenger ingen "
            "tilbakemelding."
        )
    return feedback_modal(tz=tz, performance=performance, existing=existing)


def open_from_button(
    ack: Ack,
    body: dict[str, Any],
    action: dict[str, Any],
    client: WebClient,
    context: BoltContext,
    logger: logging.Logger,
    respond: Respond,
) -> None:
    """«Gi tilbakemelding» in a prompt, «Endre svaret» after sending, or an answer to edit."""
    ack()
    services: Services = context["services"]
    team_id, user_id = _team(body, context), _user(body, context)
    performance_id = parse_performance_value(action.get("value"))
    if performance_id is None:
        view = _empty_modal(services, team_id, user_id)
    else:
        view = _performance_modal(services, team_id, user_id, performance_id)
    # From the Home tab the button's view is the tab itself: that one gets a new modal.
    current: dict[str, Any] = body.get("view") or {}
    try:
        modal = current.get("type") == "modal"
        if modal and current.get("callback_id") == FEEDBACK_CALLBACK_ID:
            # From the open form: a new view on top keeps what the user typed below it.
            client.views_push(trigger_id=body["trigger_id"], view=view)
        elif modal:
            client.views_update(view_id=current["id"], hash=current.get("hash"), view=view)
        else:
            client.views_open(trigger_id=body["trigger_id"], view=view)
    except SlackApiError as err:
        logger.warning("could not open the feedback modal: %s", err.response.get("error"))
        if body.get("response_url"):
            respond(
                response_type="ephemeral",
                replace_original=False,
                text="Jeg fikk ikke åpnet skjemaet. Trykk på knappen igjen, eller skriv "
                f"`{COMMAND} tilbakemelding`.",
            )
    # After the modal is open: the trigger_id is only valid for three seconds.
    forget_quietly(services, logger)


# --- the type-ahead ----------------------------------------------------------------------------


def suggest(ack: Ack, body: dict[str, Any], context: BoltContext, logger: logging.Logger) -> None:
    """block_suggestion: the options travel in the ack, so this must be quick.

    No Session: the index's freshness check is one read on a pooled connection, and the
    index is only rebuilt (with its own session) when the tour plan changed.
    """
    services: Services = context["services"]
    query = str(body.get("value") or "")[:100]
    try:
        index = performance_index(services.engine, _team(body, context))
    except SQLAlchemyError:
        # An empty list lets the user type again; an unanswered request shows Slack's error.
        logger.exception("the performance type-ahead failed")
        ack(options=[])
        return
    rows = index.search(query, services.clock(), MAX_SUGGESTIONS)
    # The body is JSON made from options serialised once per index version; Bolt sends a
    # text ack as the body itself, as application/json when it starts with «{» (and Socket
    # Mode parses it back): the same JSON that ack(options=[...]) would send.
    ack(performance_options_json(index, rows, services.settings.timezone))


# --- submitting --------------------------------------------------------------------------------


def submit(
    ack: Ack,
    body: dict[str, Any],
    view: dict[str, Any],
    context: BoltContext,
    logger: logging.Logger,
) -> None:
    started = time.monotonic()
    services: Services = context["services"]
    tz = services.settings.timezone
    team_id, user_id = _team(body, context), _user(body, context)
    form, errors = read_form(view)
    now = services.clock()
    performance = None
    if form.performance_id is not None:
        try:
            with services.session() as session:
                performance = get_performance(
                    session=session, team_id=team_id, performance_id=form.performance_id
                )
        except SQLAlchemyError:
            logger.exception("reading the performance failed")
            ack(response_action="errors", errors={PERFORMANCE_BLOCK: STORE_FAILED})
            return
        if performance is None:
            errors[PERFORMANCE_BLOCK] = "Jeg finner ikke den forestillingen. Velg en annen."
        elif performance.cancelled:
            errors[PERFORMANCE_BLOCK] = "Den forestillingen er avlyst. Velg en annen."
        elif performance.starts_at > now:
            errors[PERFORMANCE_BLOCK] = (
                f"Forestillingen har ikke begynt ennå (den starter "
                f"{when_text(performance.starts_at, tz)}). Du kan gi tilbakemelding etterpå."
            )
    if errors or performance is None:
        ack(response_action="errors", errors=errors)
        return
    answer = AnswerInput(
        performance_id=performance.id,
        ratings=form.ratings,
        comments=form.comments,
        pupil_hosts=form.pupil_hosts,
        pupils_attended=form.pupils_attended,
        free_comment=form.free_comment,
        anonymous=form.anonymous,
    )
    remaining = SUBMIT_BUDGET_SECONDS - (time.monotonic() - started)
    if remaining < MIN_STORE_SECONDS:
        logger.warning("feedback submit: %.2f s left of the budget, not storing", remaining)
        ack(response_action="errors", errors={PERFORMANCE_BLOCK: STORE_FAILED})
        return
    try:
        result = store_answer(
            engine=services.engine,
            seconds=remaining,
            team_id=team_id,
            user_id=user_id,
            key=respondent_key(services.settings.secret_key, team_id, user_id),
            performance=performance,
            answer=answer,
            now=now,
        )
        MISSING_CACHE.forget(services.engine, team_id)
    except EditWindowClosed as closed:
        ack(
            response_action="errors",
            errors={
                PERFORMANCE_BLOCK: "Du har allerede svart på denne forestillingen, og svaret "
                "kunne bare endres til og med "
                f"{norsk_dato(closed.edit_until.astimezone(tz).date())}."
            },
        )
        return
    except SQLAlchemyError:
        logger.exception("storing feedback failed")
        ack(response_action="errors", errors={PERFORMANCE_BLOCK: STORE_FAILED})
        return
    ack(
        response_action="update",
        view=thanks_view(
            performance=performance,
            tz=tz,
            edit_until=result.edit_until,
            anonymous=answer.anonymous,
            created=result.created,
        ),
    )


# --- the summary -------------------------------------------------------------------------------


def summary_reply(request: CommandRequest, query: str) -> Reply:
    services = request.services
    forget_quietly(services, request.logger)
    tz = services.settings.timezone
    coordinator = services.roles.is_coordinator(
        client=request.client, team_id=request.team_id, user_id=request.user_id
    )
    now = services.clock()
    comments = []
    export_production: int | None = None
    with services.session() as session:
        if query:
            productions, total = find_productions(
                session=session, team_id=request.team_id, query=query
            )
            if not productions:
                text = (
                    f"Fant ingen produksjon som passer «{escape(truncate(query, 80))}». "
                    f"Skriv `{COMMAND} tilbakemelding oppsummering` for å se alle."
                )
                return Reply(text, plain_section(text))
            ids = [p.id for p in productions if p.id is not None]
            summaries = production_summaries(
                session=session, team_id=request.team_id, now=now, production_ids=ids
            )
            if len(productions) == 1:
                heading = f"Tilbakemeldinger – {productions[0].title}"
                intro = None
                export_production = ids[0]
                if coordinator:
                    comments = latest_comments(
                        session=session, team_id=request.team_id, production_id=ids[0]
                    )
            else:
                heading = f"Tilbakemeldinger – «{query}»"
                more = f" Viser {len(productions)} av {total}." if total > len(productions) else ""
                intro = (
                    f"{total} produksjoner passer.{more} Skriv hele navnet for å se "
                    "kommentarene til én produksjon."
                )
        else:
            totals, summaries = overview(session=session, team_id=request.team_id, now=now)
            if not totals.answers:
                text = (
                    "Det har ikke kommet inn noen tilbakemeldinger ennå. Når turneplanen er "
                    "importert, spør jeg kulturkontakten på skolen etter hver forestilling."
                )
                return Reply(text, plain_section(text))
            heading = "Tilbakemeldinger"
            intro = totals_intro(totals)
            if totals.productions > len(summaries):
                intro += (
                    f" Viser de {len(summaries)} produksjonene med de nyeste svarene. Skriv "
                    f"`{COMMAND} tilbakemelding oppsummering <produksjon>` for én produksjon."
                )
    blocks = summary_blocks(
        heading=heading,
        summaries=summaries,
        tz=tz,
        intro=intro,
        comments=comments,
        coordinator=coordinator,
        export_production=export_production,
    )
    fallback = heading + ": " + "; ".join(f"{s.title} ({s.answers} svar)" for s in summaries)
    return Reply(truncate(fallback, 3000), blocks)


# --- export ------------------------------------------------------------------------------------


def build_export(
    services: Services,
    team_id: str,
    fmt: str,
    *,
    start: date | None = None,
    end: date | None = None,
    production_id: int | None = None,
) -> tuple[bytes, str, int]:
    """The file's bytes, its name and the number of answers in it."""
    with services.session() as session:
        rows = list(
            export_rows(
                session=session,
                team_id=team_id,
                tz=services.settings.timezone,
                start=start,
                end=end,
                production_id=production_id,
            )
        )
    name = export_filename(fmt, start=start, end=end, today=services.today())
    return render(fmt, rows), name, len(rows)


def export_to_dm(
    ack: Ack,
    body: dict[str, Any],
    action: dict[str, Any],
    client: WebClient,
    context: BoltContext,
    logger: logging.Logger,
    respond: Respond,
) -> None:
    """«Last ned» in the summary: the file goes to a DM with the coordinator, after the ack."""
    ack()
    services: Services = context["services"]
    team_id, user_id = _team(body, context), _user(body, context)
    if not services.roles.is_coordinator(client=client, team_id=team_id, user_id=user_id):
        respond(
            response_type="ephemeral",
            replace_original=False,
            text="Bare koordinatorer kan laste ned tilbakemeldingene.",
        )
        return
    fmt = "xlsx" if action.get("action_id") == EXPORT_XLSX_ACTION else "csv"
    value = str(action.get("value") or EXPORT_ALL)
    production_id = int(value) if value.isdigit() else None
    try:
        content, filename, count = build_export(services, team_id, fmt, production_id=production_id)
        channel = client.conversations_open(users=user_id)["channel"]["id"]
        client.files_upload_v2(
            channel=channel,
            file=content,
            filename=filename,
            title=filename,
            initial_comment=(
                f"Her er tilbakemeldingene ({count} svar), én rad per svar. Ratingene går "
                "fra 1 (ikke bra) til 5 (svært bra)."
            ),
        )
    except (SlackApiError, SQLAlchemyError) as err:
        logger.exception("feedback export failed: %s", type(err).__name__)
        respond(
            response_type="ephemeral",
            replace_original=False,
            text="Jeg fikk ikke laget eller sendt filen. Prøv igjen om litt, eller be den som "
            "drifter boten kjøre `dks-bot export tilbakemeldinger`.",
        )
        return
    respond(
        response_type="ephemeral",
        replace_original=False,
        text=f"Filen med {count} svar ligger i en direktemelding fra meg.",
    )


# --- prompts and follow-ups (outbox kinds) -----------------------------------------------------


def render_prompt(session: Session, row: OutboxMessage, now: datetime) -> RenderedMessage | None:
    """Ask about a performance, unless it is gone, cancelled, moved or already answered."""
    payload = row.payload or {}
    performance_id = payload.get("performance_id")
    if not isinstance(performance_id, int):
        return None
    performance = get_performance(
        session=session, team_id=row.team_id, performance_id=performance_id
    )
    if performance is None or performance.cancelled:
        return None
    if has_answer(session=session, team_id=row.team_id, performance_id=performance_id):
        return None
    tz = ZoneInfo(str(payload.get("tz") or "Europe/Oslo"))
    if row.unique_key not in {key for _, key, _, _ in prompt_plan(performance, tz)}:
        return None  # the performance moved; the rows for its new time do the asking
    target = feedback_target(session=session, team_id=row.team_id, school_id=performance.school_id)
    if target is None:
        return None
    text, blocks = prompt_blocks(
        performance, tz, now=now, followup=int(payload.get("followup") or 0)
    )
    return RenderedMessage(
        text=text, blocks=blocks, channel=None if target == row.target else target
    )


def render_forget(session: Session, row: OutboxMessage, now: datetime) -> None:
    """An edit window closed: delete the keys that could tell who sent those answers.

    Nothing is posted (None); the purge gets its own write transaction, since the tick hands
    renderers a read session.
    """
    bind = session.get_bind()
    forget_expired(bind if isinstance(bind, Engine) else bind.engine, now=now)


def forget_quietly(services: Services, logger: logging.Logger) -> None:
    """Also purge on the way through feedback requests: if the scheduler was down when a
    window closed (its «forget» row is then skipped), the key still goes soon after."""
    try:
        forget_expired(services.engine, now=services.clock())
    except SQLAlchemyError:
        logger.warning("could not purge expired feedback keys now; the next request tries again")


# --- /dks tilbakemelding -----------------------------------------------------------------------


def run_feedback(request: CommandRequest) -> Reply:
    word, _, rest = request.args.partition(" ")
    if not word:
        services, team_id, user_id = request.services, request.team_id, request.user_id

        def open_modal() -> None:
            forget_quietly(services, request.logger)
            view = _empty_modal(services, team_id, user_id)
            request.client.views_open(trigger_id=request.trigger_id, view=view)

        return Reply("", after=open_modal)
    if fold(word) in SUMMARY_WORDS:
        return summary_reply(request, rest.strip())
    text = usage_text()
    return Reply(text, plain_section(text))


SUBCOMMANDS = [
    Subcommand(
        name="tilbakemelding",
        aliases=("evaluering", "tilbakemeldinger"),
        summary="gi tilbakemelding på en DKS-forestilling, eller se oppsummeringen "
        "(«oppsummering [produksjon]»).",
        example=f"{COMMAND} tilbakemelding oppsummering",
        run=run_feedback,
    )
]


# «Tilbakemeldinger som mangler» on the Home tab looks this far back.
MISSING_DAYS = 30
MISSING_SHOWN = 5


class MissingFeedbackCache:
    """The section's blocks per workspace, built and serialised once a minute.

    With a national tour plan, finding the newest unanswered performances costs PostgreSQL
    several milliseconds, more than the rest of the Home tab, which is published every time
    someone opens it. An answer stored by this process clears its workspace at once; one
    stored by another process shows within `ttl` seconds.
    """

    def __init__(self, ttl: float = 60.0) -> None:
        self._ttl = ttl
        # Per database (each app, and each test, has its own engine), then per workspace.
        self._found: weakref.WeakKeyDictionary[Engine, dict[str, tuple[float, list[Block]]]] = (
            weakref.WeakKeyDictionary()
        )
        self._lock = threading.Lock()

    def get(
        self,
        engine: Engine,
        team_id: str,
        build: Callable[[], list[Block]],
    ) -> list[Block]:
        now = time.monotonic()
        with self._lock:
            kept = self._found.get(engine, {}).get(team_id)
        if kept is not None and kept[0] > now:
            return kept[1]
        blocks: list[Block] = [FrozenBlock(b.to_dict()) for b in build()]
        with self._lock:
            self._found.setdefault(engine, {})[team_id] = (now + self._ttl, blocks)
        return blocks

    def forget(self, engine: Engine, team_id: str) -> None:
        with self._lock:
            self._found.get(engine, {}).pop(team_id, None)


MISSING_CACHE = MissingFeedbackCache()


def missing_feedback_section(request: SectionRequest) -> list[Block]:
    """The Home tab's «Tilbakemeldinger som mangler»: nothing until the workspace has a tour
    plan with performances held and unanswered."""
    engine = cast(Engine, request.session.get_bind())
    tz = request.now.tzinfo
    assert isinstance(tz, ZoneInfo), "SectionRequest.now is in the bot's time zone"

    def build() -> list[Block]:
        rows, total = performances_without_feedback(
            engine=engine,
            team_id=request.team_id,
            now=request.now.astimezone(UTC),
            days=MISSING_DAYS,
            limit=MISSING_SHOWN,
        )
        return missing_feedback_blocks(rows, total, days=MISSING_DAYS, tz=tz)

    return MISSING_CACHE.get(engine, request.team_id, build)


OUTBOX_KINDS = [
    Kind(PROMPT_KIND, render_prompt),
    Kind(FOLLOWUP_KIND, render_prompt),
    Kind(FORGET_KIND, render_forget, quiet_hours=False),
]
HOME_SECTIONS = [missing_feedback_section]
# The type-ahead is asked on every keystroke: Bolt tries this feature's listeners first.
BUSY = True


def register(app: App) -> None:
    app.options(PERFORMANCE_ACTION)(suggest)
    app.action(OPEN_ACTION_PATTERN)(open_from_button)
    app.view(FEEDBACK_CALLBACK_ID)(submit)
    app.action(EXPORT_CSV_ACTION)(export_to_dm)
    app.action(EXPORT_XLSX_ACTION)(export_to_dm)
