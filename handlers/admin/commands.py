"""`/dks admin [liste | legg til @navn … | fjern @navn …]`: who the coordinators are.

Everyone may list them; adding and removing needs a coordinator (declared on the
subcommand with `writes`). Changes are audited. Coordinators also see how long the
workspace's data is kept and the commands that export or delete it (privacy.py).
"""

from __future__ import annotations

import re

from slack_sdk.models.blocks import SectionBlock
from slack_sdk.models.blocks.basic_components import MarkdownTextObject

from handlers.admin.privacy import privacy_text
from handlers.core.commands import CommandRequest, Reply
from handlers.core.format import escape
from handlers.core.i18n import _, ngettext
from storage import audit
from storage.folding import fold
from storage.workspaces import add_coordinator, listed_coordinators, remove_coordinator

_MENTION = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")
# The words after `/dks admin`, as a reader of each language types them (folded).
LIST_WORDS = ("liste", "list", "vis", "show")
ADD_WORDS = ("legg til", "leggtil", "add")
REMOVE_WORDS = ("fjern", "remove", "slett", "delete")


def mentioned_users(text: str) -> list[str]:
    """User ids from Slack's escaped mentions (<@U123|kari>), in order, once each."""
    return list(dict.fromkeys(_MENTION.findall(text)))


def verb_of(args: str) -> str | None:
    """ "list", "add", "remove", or None for words the bot does not know."""
    words = args.split()
    if not words or fold(words[0]) in LIST_WORDS:
        return "list"
    if fold(" ".join(words[:2])) in ADD_WORDS or fold(words[0]) in ADD_WORDS:
        return "add"
    if fold(words[0]) in REMOVE_WORDS:
        return "remove"
    return None


def writes(args: str) -> bool:
    return verb_of(args) in ("add", "remove")


def _text(text: str) -> Reply:
    return Reply(text, [SectionBlock(text=MarkdownTextObject(text=text))])


def _listing(request: CommandRequest) -> Reply:
    with request.services.session() as session:
        listed = list(listed_coordinators(session=session, team_id=request.team_id))
    people = _people(listed) if listed else _("ingen ennå")
    text = _(
        "*Koordinatorer* kan endre frister, møter, kontakter og skoler, importere og "
        "eksportere. Administratorer og eiere av Slack-arbeidsområdet er alltid "
        "koordinatorer. I tillegg: %(people)s.\n"
        "Legg til eller fjern med `/dks admin legg til @navn` og `/dks admin fjern @navn`."
    ) % {"people": people}
    services = request.services
    if services.roles.is_coordinator(
        client=request.client, team_id=request.team_id, user_id=request.user_id
    ):
        privacy = privacy_text(
            team_id=request.team_id, retention_days=services.settings.data_retention_days
        )
        text += "\n\n" + privacy
    return _text(text)


def _change(
    request: CommandRequest, users: list[str], *, adding: bool
) -> tuple[list[str], list[str]]:
    """Add or remove each user: (changed, already so)."""
    done: list[str] = []
    already: list[str] = []
    with request.services.session(write=True) as session:
        for user in users:
            if adding:
                changed = add_coordinator(
                    session=session, team_id=request.team_id, user_id=user, added_by=request.user_id
                )
            else:
                changed = remove_coordinator(session=session, team_id=request.team_id, user_id=user)
            if not changed:
                already.append(user)
                continue
            done.append(user)
            audit.record(
                session=session,
                team_id=request.team_id,
                user_id=request.user_id,
                action="add" if adding else "remove",
                item_kind="coordinator",
                summary=user,
                changes={"user_id": user},
                at=request.services.clock(),
            )
    return done, already


def _people(users: list[str]) -> str:
    return ", ".join(f"<@{u}>" for u in users)


def _not_understood(args: str) -> Reply:
    return _text(
        _(
            "Jeg forstod ikke «%(words)s». Skriv `/dks admin legg til @navn`, "
            "`/dks admin fjern @navn` eller `/dks admin` for å se hvem som er koordinatorer."
        )
        % {"words": escape(args[:60])}
    )


def _nobody(adding: bool) -> Reply:
    if adding:
        return _text(
            _(
                "Jeg fant ingen person i det du skrev. Skriv @ og velg personen fra lista, "
                "for eksempel `/dks admin legg til @kari`."
            )
        )
    return _text(
        _(
            "Jeg fant ingen person i det du skrev. Skriv @ og velg personen fra lista, "
            "for eksempel `/dks admin fjern @kari`."
        )
    )


def _outcome(done: list[str], already: list[str], *, adding: bool) -> list[str]:
    lines = []
    if done and adding:
        lines.append(
            ngettext(
                ":white_check_mark: %(people)s er nå koordinator.",
                ":white_check_mark: %(people)s er nå koordinatorer.",
                len(done),
            )
            % {"people": _people(done)}
        )
    elif done:
        lines.append(
            _(":white_check_mark: %(people)s er ikke lenger på lista over koordinatorer.")
            % {"people": _people(done)}
        )
    if already and adding:
        lines.append(
            ngettext(
                "%(people)s var allerede koordinator.",
                "%(people)s var allerede koordinatorer.",
                len(already),
            )
            % {"people": _people(already)}
        )
    elif already:
        lines.append(_("%(people)s stod ikke på lista.") % {"people": _people(already)})
    return lines


def run_admin(request: CommandRequest) -> Reply:
    verb = verb_of(request.args)
    if verb == "list":
        return _listing(request)
    if verb is None:
        return _not_understood(request.args)
    adding = verb == "add"
    users = mentioned_users(request.args)
    if not users:
        return _nobody(adding)
    done, already = _change(request, users, adding=adding)
    lines = _outcome(done, already, adding=adding)
    if not adding:
        roles, client = request.services.roles, request.client
        admins = [
            u
            for u in done + already
            if roles.is_workspace_admin(client=client, team_id=request.team_id, user_id=u)
        ]
        if admins:
            lines.append(
                ngettext(
                    "%(people)s er administrator i Slack-arbeidsområdet og er derfor "
                    "fortsatt koordinator.",
                    "%(people)s er administratorer i Slack-arbeidsområdet og er derfor "
                    "fortsatt koordinatorer.",
                    len(admins),
                )
                % {"people": _people(admins)}
            )
    return _text("\n".join(lines))
