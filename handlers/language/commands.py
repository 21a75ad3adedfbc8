"""`/dks språk [meg] [nynorsk | bokmål | english | standard]`: which language the bot writes.

The workspace's language (a coordinator's choice) is what channels, reminders, exports and the
calendar feed are written in, and what everyone reads who has not chosen their own; a person's
own choice wins in what only they read (ephemeral replies, modals, their Home tab, DMs). The
reply to a choice comes in the language just chosen.
"""

from __future__ import annotations

from slack_sdk.models.blocks import SectionBlock
from slack_sdk.models.blocks.basic_components import MarkdownTextObject

from handlers.core.commands import CommandRequest, Reply
from handlers.core.format import escape, truncate
from handlers.core.i18n import _, use_language
from handlers.core.services import Services
from handlers.language.choices import Choice, language_name, parse
from storage import audit
from storage.workspaces import set_user_language, set_workspace_language, workspace_language


def _text(text: str) -> Reply:
    return Reply(text, [SectionBlock(text=MarkdownTextObject(text=text))])


def overview_text(workspace: str | None, own: str | None) -> str:
    """Both choices, and how to change them (in the language in force)."""
    lines = [
        _(
            "*Språk:* Arbeidsområdet bruker %(workspace)s i kanaler, påminnelser og eksport, "
            "og i svar til alle som ikke har valgt språk selv."
        )
        % {"workspace": language_name(workspace)}
    ]
    if own:
        lines.append(
            _("Du har valgt %(language)s for deg selv.") % {"language": language_name(own)}
        )
    else:
        lines.append(
            _("Du har ikke valgt språk selv, så du får svar på %(language)s.")
            % {"language": language_name(workspace)}
        )
    lines.append(
        _(
            "Velg ditt eget med `/dks språk meg nynorsk`, `bokmål`, `english` eller `standard` "
            "(som arbeidsområdet). En koordinator velger arbeidsområdets med "
            "`/dks språk nynorsk`, `bokmål` eller `english`."
        )
    )
    return "\n".join(lines)


def workspace_set_text(language: str, own: str | None) -> str:
    """Said once the workspace's language is `language` (in the language in force)."""
    text = _(
        ":white_check_mark: Arbeidsområdet bruker nå %(language)s: i kanaler, påminnelser og "
        "eksport, og i svar til alle som ikke har valgt språk selv."
    ) % {"language": language_name(language)}
    if own and own != language:
        text += "\n" + _(
            "Du har valgt %(own)s for deg selv og får fortsatt svar på det. Skriv "
            "`/dks språk meg standard` for å følge arbeidsområdet."
        ) % {"own": language_name(own)}
    return text


def own_set_text(language: str, workspace: str | None) -> str:
    return _(
        ":white_check_mark: Du får nå svar på %(language)s. Kanaler og påminnelser følger "
        "arbeidsområdets språk (%(workspace)s)."
    ) % {"language": language_name(language), "workspace": language_name(workspace)}


def own_cleared_text(workspace: str | None) -> str:
    return _(":white_check_mark: Du følger nå arbeidsområdets språk: %(language)s.") % {
        "language": language_name(workspace)
    }


def _unknown(choice: Choice) -> str:
    return _(
        "Jeg kjenner ikke språket «%(word)s». Velg nynorsk, bokmål eller english, for eksempel "
        "`/dks språk meg nynorsk`."
    ) % {"word": escape(truncate(choice.word, 60))}


def choose_workspace_language(
    services: Services, *, team_id: str, user_id: str, language: str
) -> None:
    """Store the workspace's language; audited, as coordinators' other changes are."""
    with services.session(write=True) as session:
        before = workspace_language(session=session, team_id=team_id)
        set_workspace_language(session=session, team_id=team_id, language=language)
        if before != language:
            audit.record(
                session=session,
                team_id=team_id,
                user_id=user_id,
                action="update",
                item_kind="workspace",
                summary="language",
                changes={"language": [before, language]},
                at=services.clock(),
            )


def choose_own_language(
    services: Services, *, team_id: str, user_id: str, language: str | None
) -> None:
    """Store a person's own language; None follows the workspace's again."""
    with services.session(write=True) as session:
        set_user_language(session=session, team_id=team_id, user_id=user_id, language=language)


def run_language(request: CommandRequest) -> Reply:
    services = request.services
    settings = services.snapshot(request.team_id).settings
    workspace = settings.language
    own = settings.user_languages.get(request.user_id)
    choice = parse(request.args)
    if choice.action == "show":
        return _text(overview_text(workspace, own))
    if choice.action == "unknown":
        return _text(_unknown(choice))
    who = {"team_id": request.team_id, "user_id": request.user_id}
    if choice.action == "clear":
        choose_own_language(services, **who, language=None)
        with use_language(workspace):
            return _text(own_cleared_text(workspace))
    assert choice.language is not None
    if choice.own:
        choose_own_language(services, **who, language=choice.language)
        with use_language(choice.language):
            return _text(own_set_text(choice.language, workspace))
    # The workspace's (the subcommand's access rule let only a coordinator this far).
    choose_workspace_language(services, **who, language=choice.language)
    with use_language(choice.language):
        return _text(workspace_set_text(choice.language, own))
