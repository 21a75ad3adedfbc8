"""Bolt listeners for the Home tab's «Importer»: open the file form, preview the upload in
the form's ack, import on confirmation and announce the change after that ack.

Only coordinators get here (`coordinator_only` in __init__.py). `services` and `actor` are
context entries that Bolt passes by name.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, BoltContext
from slack_sdk import WebClient

from handlers.core.access import Actor
from handlers.core.blocks import notice_modal
from handlers.core.feature import Changed
from handlers.core.i18n import _
from handlers.core.lazy import logs_failures
from handlers.core.services import Services
from handlers.imports.forms import (
    FILE_BLOCK,
    NO_FILE,
    chosen_file,
    import_modal,
    import_preview_modal,
    pending_id_of,
)
from handlers.imports.importing import (
    FILE_ERRORS,
    UnreadableFile,
    apply_import,
    errors_of,
    keep_for_confirmation,
    pending_upload,
    preview_import,
    read_upload,
)
from handlers.imports.views import EXPIRED, import_done_modal, import_errors_modal

# Where the confirmation's ack function leaves the change for `announce_import`.
IMPORTED = "imports_imported"


def open_import(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
    ack()
    client.views_open(trigger_id=str(body.get("trigger_id") or ""), view=import_modal())


def preview_file(
    ack: Ack, view: dict[str, Any], client: WebClient, services: Services, actor: Actor
) -> None:
    """The chosen file, fetched from Slack and checked: its preview replaces the form, or its
    bad rows are pushed over it (so the user can choose another file)."""
    file_id = chosen_file(view)
    if file_id is None:
        ack(response_action="errors", errors={FILE_BLOCK: _(NO_FILE)})
        return
    try:
        upload = read_upload(client, file_id)
    except UnreadableFile as err:
        ack(response_action="errors", errors={FILE_BLOCK: str(err)})
        return
    try:
        preview = preview_import(services, team_id=actor.team_id, upload=upload)
    except FILE_ERRORS as err:
        ack(response_action="push", view=import_errors_modal(upload.filename, errors_of(err)))
        return
    # Nothing to confirm when nothing would change: the preview then has no «Importer».
    pending_id = (
        keep_for_confirmation(services, actor=actor, upload=upload) if preview.changed else ""
    )
    ack(
        response_action="update",
        view=import_preview_modal(
            filename=upload.filename,
            summary=preview.summary,
            changes=preview.changes,
            pending_id=pending_id,
            changed=preview.changed,
        ),
    )


def confirm_import(
    ack: Ack, view: dict[str, Any], services: Services, actor: Actor, context: BoltContext
) -> None:
    pending = pending_upload(services, actor=actor, pending_id=pending_id_of(view))
    if pending is None:
        ack(response_action="update", view=notice_modal(_(EXPIRED)))
        return
    try:
        imported = apply_import(services, actor=actor, pending=pending)
    except FILE_ERRORS as err:
        # The workspace changed since the preview so that the file no longer fits.
        ack(response_action="update", view=import_errors_modal(pending.filename, errors_of(err)))
        return
    ack(response_action="update", view=import_done_modal(imported.summary))
    context[IMPORTED] = Changed(actor.team_id, actor.user_id, imported.items)


@logs_failures
def announce_import(
    context: BoltContext, client: WebClient, services: Services, logger: logging.Logger
) -> None:
    """After the confirmation's ack: reminders and the Home tab follow the imported rows."""
    event = context.get(IMPORTED)
    if isinstance(event, Changed):
        services.events.publish(event, client=client, services=services, logger=logger)
