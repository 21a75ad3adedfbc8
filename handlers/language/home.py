"""The Home tab's «Språk»: a menu for the reader's own language and, for coordinators, one for
the workspace's. Choosing saves at once and publishes the tab again, in the new language."""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk import WebClient
from slack_sdk.models.blocks import Block, HeaderBlock, Option, SectionBlock, StaticSelectElement
from slack_sdk.models.blocks.basic_components import MarkdownTextObject

from handlers.core.access import Actor
from handlers.core.feature import Changed, SectionRequest
from handlers.core.i18n import LANGUAGES, _, pick, use_language
from handlers.core.lazy import logs_failures
from handlers.core.services import Services
from handlers.language.choices import STANDARD, language_name, own_name
from handlers.language.commands import choose_own_language, choose_workspace_language
from storage.workspaces import language_choices

OWN_ACTION = "language_own"
WORKSPACE_ACTION = "language_workspace"
OWN_BLOCK = "language_own"
WORKSPACE_BLOCK = "language_workspace"

log = logging.getLogger(__name__)


def _option(language: str) -> Option:
    return Option(value=language, text=own_name(language))


def own_menu(own: str | None, workspace: str | None) -> StaticSelectElement:
    standard = Option(
        value=STANDARD,
        text=_("Som arbeidsområdet (%(language)s)") % {"language": language_name(workspace)},
    )
    options = [standard, *(_option(language) for language in LANGUAGES)]
    chosen = next((o for o in options if o.value == own), standard)
    return StaticSelectElement(
        action_id=OWN_ACTION,
        placeholder=_("Velg språk"),
        options=options,
        initial_option=chosen,
    )


def workspace_menu(workspace: str | None) -> StaticSelectElement:
    options = [_option(language) for language in LANGUAGES]
    chosen = next((o for o in options if o.value == (workspace or "nb")), options[0])
    return StaticSelectElement(
        action_id=WORKSPACE_ACTION,
        placeholder=_("Velg språk"),
        options=options,
        initial_option=chosen,
    )


def language_blocks(*, own: str | None, workspace: str | None, coordinator: bool) -> list[Block]:
    blocks: list[Block] = [
        HeaderBlock(text=_("Språk")),
        SectionBlock(
            block_id=OWN_BLOCK,
            text=MarkdownTextObject(
                text=_("*Ditt språk* – i svar bare du ser, i skjemaer og her.")
            ),
            accessory=own_menu(own, workspace),
        ),
    ]
    if coordinator:
        blocks.append(
            SectionBlock(
                block_id=WORKSPACE_BLOCK,
                text=MarkdownTextObject(
                    text=_(
                        "*Arbeidsområdets språk* – i kanaler, påminnelser og eksport, og for "
                        "alle som ikke har valgt selv."
                    )
                ),
                accessory=workspace_menu(workspace),
            )
        )
    return blocks


def language_section(request: SectionRequest) -> list[Block]:
    """The Home section (`Feature(home_sections=[…])`)."""
    workspace, own = language_choices(
        session=request.session, team_id=request.team_id, user_id=request.user_id
    )
    return language_blocks(own=own, workspace=workspace, coordinator=request.coordinator)


def _chosen(action: dict[str, Any]) -> str | None:
    selected = action.get("selected_option")
    value = selected.get("value") if isinstance(selected, dict) else None
    return value if isinstance(value, str) else None


def _refresh(
    client: WebClient, services: Services, actor: Actor, logger: logging.Logger, language: str
) -> None:
    """The chooser's Home tab again, in `language` (the Home feature publishes on `Changed`)."""
    with use_language(language):
        services.events.publish(
            Changed(team_id=actor.team_id, user_id=actor.user_id),
            client=client,
            services=services,
            logger=logger,
        )


@logs_failures
def choose_own(
    action: dict[str, Any],
    client: WebClient,
    services: Services,
    actor: Actor,
    logger: logging.Logger,
) -> None:
    """The reader's own language from the Home tab's menu (anyone)."""
    value = _chosen(action)
    if value != STANDARD and value not in LANGUAGES:
        logger.info("ignored a language menu choice that is none of ours")
        return
    own = None if value == STANDARD else value
    choose_own_language(services, team_id=actor.team_id, user_id=actor.user_id, language=own)
    workspace = services.snapshot(actor.team_id).settings.language
    _refresh(client, services, actor, logger, pick(own, workspace))


@logs_failures
def choose_workspace(
    action: dict[str, Any],
    client: WebClient,
    services: Services,
    actor: Actor,
    logger: logging.Logger,
) -> None:
    """The workspace's language from the Home tab's menu (coordinators: `coordinator_only`)."""
    value = _chosen(action)
    if value not in LANGUAGES:
        logger.info("ignored a language menu choice that is none of ours")
        return
    assert value is not None
    choose_workspace_language(
        services, team_id=actor.team_id, user_id=actor.user_id, language=value
    )
    own = services.snapshot(actor.team_id).settings.user_languages.get(actor.user_id)
    _refresh(client, services, actor, logger, pick(own, value))
