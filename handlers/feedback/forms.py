"""The feedback form: its ids, its limits, its type-ahead options, the builder and the parser.

Each limit is written once (in storage.feedback, where the stored answer is defined) and read
by both the builder (`max_length`, the hint) and the parser (`read_form`'s checks): what
Slack lets a user type and what the bot accepts cannot drift apart.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    CheckboxesElement,
    ContextBlock,
    ExternalDataSelectElement,
    InputBlock,
    NumberInputElement,
    Option,
    PlainTextInputElement,
    RadioButtonsElement,
    SectionBlock,
)
from slack_sdk.models.blocks.basic_components import MarkdownTextObject
from slack_sdk.models.views import View

from handlers.core.format import klokkeslett, truncate
from handlers.core.i18n import N_, _, current_language
from handlers.core.values import row_id, whole_number
from handlers.feedback.views import (
    FEEDBACK_OPEN_ACTION,
    OTHER_COMMENTS,
    day_text,
    parse_performance_value,
    performance_value,
)
from storage.feedback import (
    MAX_COMMENT,
    MAX_FREE_COMMENT,
    MAX_PUPILS_ATTENDED,
    QUESTION_KEYS,
    QUESTION_LABELS,
    RATING_SCALE,
    RATING_WORDS,
)
from storage.models import FeedbackAnswer, PupilHosts
from storage.text import xml_safe
from storage.tourplan import Choice, PerformanceIndex, PerformanceInfo

# --- ids ---------------------------------------------------------------------------------------

FEEDBACK_CALLBACK_ID = "feedback_modal"
PERFORMANCE_BLOCK = "performance"
PERFORMANCE_ACTION = "feedback_performance"
RATING_BLOCKS = {q: f"rating_{q}" for q in QUESTION_KEYS}
RATING_ACTIONS = {q: f"feedback_rating_{q}" for q in QUESTION_KEYS}
COMMENT_BLOCKS = {q: f"comment_{q}" for q in QUESTION_KEYS}
COMMENT_ACTIONS = {q: f"feedback_comment_{q}" for q in QUESTION_KEYS}
PUPIL_HOSTS_BLOCK = "pupil_hosts"
PUPIL_HOSTS_ACTION = "feedback_pupil_hosts"
PUPILS_BLOCK = "pupils_attended"
PUPILS_ACTION = "feedback_pupils_attended"
FREE_COMMENT_BLOCK = "free_comment"
FREE_COMMENT_ACTION = "feedback_free_comment"
ANONYMOUS_BLOCK = "anonymous"
ANONYMOUS_ACTION = "feedback_anonymous"
ANONYMOUS_VALUE = "anonymous"
EDIT_LIST_BLOCK = "feedback_editable"

# --- limits ------------------------------------------------------------------------------------

OPTION_TEXT_LIMIT = 75  # Slack's limit for an option's and a button's text
EDITABLE_SHOWN = 5
MAX_QUERY = 100  # of what the user typed in the type-ahead

FORM_TITLE = N_("Tilbakemelding")

# --- texts -------------------------------------------------------------------------------------
# Bokmål messages, translated where shown (`_(CHOOSE_RATING)`): the form is in the reader's
# language, and these are declared at import.

QUESTION_HINTS = {
    "overall": N_("Hvordan var forestillingen alt i alt?"),
    "artistic": N_("Håndverk, formidling og kunstnerisk uttrykk."),
    "relevance": N_("Passet den for alderstrinnet, og kunne den knyttes til fag og læreplan?"),
    "pupils": N_("Var elevene engasjerte, fikk de delta, snakket de om det etterpå?"),
    "practical": N_("Ankomst, lokale, tidsplan og informasjon på forhånd."),
}
PUPIL_HOSTS_WORDS = {
    PupilHosts.YES: N_("Ja"),
    PupilHosts.NO: N_("Nei"),
    PupilHosts.UNKNOWN: N_("Vet ikke"),
}
ANONYMOUS_EXPLAINED = N_(
    "Anonymt betyr at koordinatorene ikke ser hvem som svarte, og at navnet ditt ikke lagres "
    "sammen med svaret. I 14 dager kan boten likevel kjenne deg igjen (med en kode laget av "
    "Slack-id-en din), slik at du kan endre svaret. Etter 14 dager slettes koden, og da vet "
    "heller ikke boten hvem som svarte."
)
# Field errors.
CHOOSE_PERFORMANCE = N_("Velg forestillingen du gir tilbakemelding på.")
CHOOSE_RATING = N_("Velg et svar fra «svært bra» til «ikke bra».")
CHOOSE_PUPIL_HOSTS = N_("Velg ja, nei eller vet ikke.")
PERFORMANCE_NOT_FOUND = N_("Jeg finner ikke den forestillingen. Velg en annen.")
PERFORMANCE_CANCELLED = N_("Den forestillingen er avlyst. Velg en annen.")
STORE_FAILED = N_(
    "Jeg fikk ikke lagret svaret akkurat nå. Det du har skrevet, står fortsatt her: "
    "trykk «Send» igjen om litt."
)


def too_long(text: str, limit: int) -> str:
    return _("Kommentaren er %(length)d tegn. Kort den ned til høyst %(limit)d tegn.") % {
        "length": len(text),
        "limit": limit,
    }


def bad_pupils(typed: str) -> str:
    return _("Skriv antall elever som et helt tall fra 0 til %(most)d (du skrev «%(typed)s»).") % {
        "most": MAX_PUPILS_ATTENDED,
        "typed": truncate(typed, 20),
    }


def not_started(starts: str) -> str:
    return _(
        "Forestillingen har ikke begynt ennå (den starter %(when)s). "
        "Du kan gi tilbakemelding etterpå."
    ) % {"when": starts}


def edit_window_closed(until: str) -> str:
    return _(
        "Du har allerede svart på denne forestillingen, og svaret kunne bare endres til og "
        "med %(day)s."
    ) % {"day": until}


# --- the type-ahead ----------------------------------------------------------------------------


def option_label(choice: Choice, tz: ZoneInfo) -> str:
    """«produksjon – skole – dato» within Slack's 75 characters; the time when a school had
    the same production twice that day."""
    local = choice.starts_at.astimezone(tz)
    when = day_text(local.date())
    if choice.needs_time:
        when = _("%(when)s kl. %(time)s") % {"when": when, "time": klokkeslett(local)}
    title, school = choice.title, choice.school
    room = OPTION_TEXT_LIMIT - len(when) - 6
    if len(title) + len(school) > room:
        school = truncate(school, max(room - len(title), min(len(school), 24)))
        title = truncate(title, room - len(school))
    return f"{title} – {school} – {when}"


def option_dict(choice: Choice, tz: ZoneInfo) -> dict[str, Any]:
    """What `Option(...).to_dict()` gives for a type-ahead choice (the tests compare them)."""
    return {
        "text": {"type": "plain_text", "text": option_label(choice, tz), "emoji": True},
        "value": performance_value(choice.performance_id),
    }


def performance_options_json(index: PerformanceIndex, rows: Sequence[int], tz: ZoneInfo) -> str:
    """The JSON body of a block_suggestion ack: `{"options": [...]}` for `rows` of `index`.

    This runs on every keystroke. Each option is rendered and serialised once per row and
    version of the index (kept by the index), so an answer only joins ready strings: building
    and serialising 100 options anew each time cost more than finding them. The labels'
    dates are in the reader's language, so the language is part of the key.
    """
    parts = index.rendered(
        rows,
        ("option", tz, current_language()),
        lambda c: json.dumps(option_dict(c, tz), ensure_ascii=False, separators=(",", ":")),
    )
    return '{"options":[' + ",".join(parts) + "]}"


def performance_option(performance: PerformanceInfo, tz: ZoneInfo) -> Option:
    choice = Choice(
        performance.id, performance.title, performance.school, performance.starts_at, False
    )
    return Option(text=option_label(choice, tz), value=performance_value(performance.id))


# --- the builder -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Metadata:
    """What the modal carries in `private_metadata`."""

    performance_id: int | None = None

    def dump(self) -> str:
        return json.dumps({"p": self.performance_id})

    @classmethod
    def load(cls, raw: str | None) -> Metadata:
        try:
            data = json.loads(raw or "{}")
        except ValueError:
            return cls()
        performance_id = data.get("p") if isinstance(data, dict) else None
        return cls(row_id(performance_id) if isinstance(performance_id, int) else None)


@dataclass(frozen=True)
class EditableAnswer:
    performance_id: int
    title: str
    starts_at: datetime


def _rating_options() -> list[Option]:
    return [Option(text=_(word), value=str(value)) for value, word in RATING_SCALE]


def _rating_option(value: int | None) -> Option | None:
    if value is None or value not in RATING_WORDS:
        return None
    return Option(text=_(RATING_WORDS[value]), value=str(value))


def _pupil_host_options() -> list[Option]:
    return [Option(text=_(word), value=value.value) for value, word in PUPIL_HOSTS_WORDS.items()]


def _pupil_host_option(hosts: str | None) -> Option | None:
    if hosts is None or hosts not in {h.value for h in PupilHosts}:
        return None
    return Option(text=_(PUPIL_HOSTS_WORDS[PupilHosts(hosts)]), value=hosts)


def _anonymous_option() -> Option:
    return Option(
        text=_("Send anonymt"),
        value=ANONYMOUS_VALUE,
        description=_("Koordinatorene ser ikke hvem som svarte."),
    )


def _editable_list(editable: Sequence[EditableAnswer], tz: ZoneInfo) -> list[Block]:
    buttons = [
        ButtonElement(
            text=truncate(
                f"{e.title} – {day_text(e.starts_at.astimezone(tz).date())}", OPTION_TEXT_LIMIT
            ),
            action_id=f"{FEEDBACK_OPEN_ACTION}_{i}",
            value=performance_value(e.performance_id),
        )
        for i, e in enumerate(editable[:EDITABLE_SHOWN])
    ]
    return [
        SectionBlock(text=MarkdownTextObject(text=_("*Svar du fortsatt kan endre:*"))),
        ActionsBlock(block_id=EDIT_LIST_BLOCK, elements=buttons),
    ]


def _editing_note(existing: FeedbackAnswer, tz: ZoneInfo) -> ContextBlock:
    sent = day_text(existing.created_at.astimezone(tz).date())
    until = day_text(existing.edit_until.astimezone(tz).date())
    return ContextBlock(
        elements=[
            MarkdownTextObject(
                text=_(
                    ":pencil2: Du endrer svaret du sendte %(sent)s. Du kan endre det "
                    "til og med %(until)s."
                )
                % {"sent": sent, "until": until}
            )
        ]
    )


def _question_blocks(question: str, existing: FeedbackAnswer | None) -> list[Block]:
    rating = getattr(existing, f"rating_{question}", None) if existing else None
    comment = getattr(existing, f"comment_{question}", None) if existing else None
    label = _(QUESTION_LABELS[question])
    return [
        InputBlock(
            block_id=RATING_BLOCKS[question],
            label=label,
            hint=_(QUESTION_HINTS[question]),
            element=RadioButtonsElement(
                action_id=RATING_ACTIONS[question],
                options=_rating_options(),
                initial_option=_rating_option(rating),
            ),
        ),
        InputBlock(
            block_id=COMMENT_BLOCKS[question],
            label=_("Kommentar til «%(question)s»") % {"question": label.lower()},
            optional=True,
            element=PlainTextInputElement(
                action_id=COMMENT_ACTIONS[question],
                multiline=True,
                max_length=MAX_COMMENT,
                initial_value=comment or None,
            ),
        ),
    ]


def feedback_modal(
    *,
    tz: ZoneInfo,
    performance: PerformanceInfo | None = None,
    existing: FeedbackAnswer | None = None,
    editable: Sequence[EditableAnswer] = (),
) -> View:
    """The feedback form: empty, prefilled with a performance, or with the sender's answer."""
    blocks: list[Block] = [
        SectionBlock(
            text=MarkdownTextObject(
                text=_(
                    "Det tar omtrent ett minutt. Svarene brukes i kommunens evaluering av "
                    "DKS-produksjonene og i årsrapporten til fylket."
                )
            )
        )
    ]
    if editable and performance is None:
        blocks.extend(_editable_list(editable, tz))
    blocks.append(
        InputBlock(
            block_id=PERFORMANCE_BLOCK,
            label=_("Forestilling"),
            element=ExternalDataSelectElement(
                action_id=PERFORMANCE_ACTION,
                placeholder=_("Søk på produksjon, skole eller dato"),
                min_query_length=0,
                initial_option=performance_option(performance, tz) if performance else None,
            ),
            hint=_("Nyeste først. Skriv for eksempel navnet på produksjonen, skolen eller datoen."),
        )
    )
    if existing is not None:
        blocks.append(_editing_note(existing, tz))
    for question in QUESTION_KEYS:
        blocks.extend(_question_blocks(question, existing))
    blocks.append(
        InputBlock(
            block_id=PUPIL_HOSTS_BLOCK,
            label=_("Var elevarrangører med?"),
            hint=_("Elevarrangører tar imot utøverne og hjelper til før og under forestillingen."),
            optional=True,
            element=RadioButtonsElement(
                action_id=PUPIL_HOSTS_ACTION,
                options=_pupil_host_options(),
                initial_option=_pupil_host_option(existing.pupil_hosts if existing else None),
            ),
        )
    )
    attended = existing.pupils_attended if existing else None
    blocks.append(
        InputBlock(
            block_id=PUPILS_BLOCK,
            label=_("Hvor mange elever var til stede?"),
            hint=_("Et helt tall fra 0 til %(most)d.") % {"most": MAX_PUPILS_ATTENDED},
            optional=True,
            element=NumberInputElement(
                action_id=PUPILS_ACTION,
                is_decimal_allowed=False,
                initial_value=str(attended) if attended is not None else None,
            ),
        )
    )
    blocks.append(
        InputBlock(
            block_id=FREE_COMMENT_BLOCK,
            label=_(OTHER_COMMENTS),
            optional=True,
            element=PlainTextInputElement(
                action_id=FREE_COMMENT_ACTION,
                multiline=True,
                max_length=MAX_FREE_COMMENT,
                initial_value=(existing.free_comment if existing else None) or None,
            ),
        )
    )
    anonymous = _anonymous_option()
    blocks.append(
        InputBlock(
            block_id=ANONYMOUS_BLOCK,
            label=_("Anonymitet"),
            optional=True,
            hint=_(ANONYMOUS_EXPLAINED),
            element=CheckboxesElement(
                action_id=ANONYMOUS_ACTION,
                options=[anonymous],
                initial_options=[anonymous]
                if existing is not None and existing.anonymous
                else None,
            ),
        )
    )
    return View(
        type="modal",
        callback_id=FEEDBACK_CALLBACK_ID,
        title=_(FORM_TITLE),
        submit=_("Send"),
        close=_("Avbryt"),
        private_metadata=Metadata(performance.id if performance else None).dump(),
        blocks=blocks,
    )


# --- the parser --------------------------------------------------------------------------------


@dataclass
class FormData:
    performance_id: int | None
    ratings: dict[str, int] = field(default_factory=dict)
    comments: dict[str, str | None] = field(default_factory=dict)
    pupil_hosts: str | None = None
    pupils_attended: int | None = None
    free_comment: str | None = None
    anonymous: bool = False


def _value(values: Mapping[str, Any], block: str, action: str) -> dict[str, Any]:
    cells = values.get(block)
    found = cells.get(action) if isinstance(cells, dict) else None
    return found if isinstance(found, dict) else {}


def _selected(values: Mapping[str, Any], block: str, action: str) -> str | None:
    option = _value(values, block, action).get("selected_option")
    return option.get("value") if isinstance(option, dict) else None


def _text(values: Mapping[str, Any], block: str, action: str) -> str | None:
    raw = _value(values, block, action).get("value")
    if not isinstance(raw, str):
        return None
    return xml_safe(raw).strip() or None


def read_form(view: Mapping[str, Any]) -> tuple[FormData, dict[str, str]]:
    """Field values and field-level errors, keyed by input block_id, from a submitted view."""
    state = view.get("state")
    values = state.get("values") if isinstance(state, dict) else None
    values = values if isinstance(values, dict) else {}
    errors: dict[str, str] = {}
    selected = _selected(values, PERFORMANCE_BLOCK, PERFORMANCE_ACTION)
    performance_id = parse_performance_value(selected)
    if performance_id is None:
        # A form opened for a performance carries it, in case the select came back empty.
        performance_id = Metadata.load(view.get("private_metadata")).performance_id
        if selected is not None or performance_id is None:
            errors[PERFORMANCE_BLOCK] = _(CHOOSE_PERFORMANCE)
            performance_id = None
    form = FormData(performance_id=performance_id)
    for question in QUESTION_KEYS:
        raw = _selected(values, RATING_BLOCKS[question], RATING_ACTIONS[question])
        rating = whole_number(raw, at_most=max(RATING_WORDS))
        if rating is None or rating not in RATING_WORDS:
            errors[RATING_BLOCKS[question]] = _(CHOOSE_RATING)
        else:
            form.ratings[question] = rating
        comment = _text(values, COMMENT_BLOCKS[question], COMMENT_ACTIONS[question])
        if comment is not None and len(comment) > MAX_COMMENT:
            errors[COMMENT_BLOCKS[question]] = too_long(comment, MAX_COMMENT)
        form.comments[question] = comment
    hosts = _selected(values, PUPIL_HOSTS_BLOCK, PUPIL_HOSTS_ACTION)
    if hosts is not None and hosts not in {h.value for h in PupilHosts}:
        errors[PUPIL_HOSTS_BLOCK] = _(CHOOSE_PUPIL_HOSTS)
    else:
        form.pupil_hosts = hosts
    pupils = _text(values, PUPILS_BLOCK, PUPILS_ACTION)
    if pupils is not None:
        digits = pupils.replace(" ", "").replace("\u00a0", "")
        count = whole_number(digits, at_most=MAX_PUPILS_ATTENDED)
        if count is None:
            errors[PUPILS_BLOCK] = bad_pupils(pupils)
        else:
            form.pupils_attended = count
    free = _text(values, FREE_COMMENT_BLOCK, FREE_COMMENT_ACTION)
    if free is not None and len(free) > MAX_FREE_COMMENT:
        errors[FREE_COMMENT_BLOCK] = too_long(free, MAX_FREE_COMMENT)
    form.free_comment = free
    chosen = _value(values, ANONYMOUS_BLOCK, ANONYMOUS_ACTION).get("selected_options")
    form.anonymous = isinstance(chosen, list) and any(
        isinstance(o, dict) and o.get("value") == ANONYMOUS_VALUE for o in chosen
    )
    return form, errors
