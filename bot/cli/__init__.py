"""The `dks-bot` command line: one typer app built from the command groups.

- `run`: the processes (`run`, `serve`, `scheduler`, `shell`; no command means `run`).
- `imports`: `import kalender|kontakter|turneplan`.
- `exports`: `export kalender|tilbakemeldinger`.
- `report`: `rapport [år]`, the annual report (figures; `--ut` writes XLSX or a CSV zip).
- `reminders`: `påminnelser forhåndsvis` (also `paminnelser`).
- `db`: `db upgrade`.
- `dataprotection`: `arbeidsområde eksporter|slett` (also `arbeidsomrade`) and
  `person eksporter|slett`: a workspace's or a person's data (GDPR).
- `common`: settings, the database, `--team` and error exits, shared by the groups.
"""

from __future__ import annotations

import sys

import typer

from bot.cli import dataprotection, db, exports, imports, reminders, report, run
from bot.settings import SettingsError

cli = typer.Typer(
    help="DKS-boten: Slack app for DKS and kulturskole coordinators.",
    no_args_is_help=False,
    add_completion=False,
    pretty_exceptions_enable=False,
)
cli.callback(invoke_without_command=True)(run.main_callback)
for command in run.COMMANDS:
    cli.command()(command)
cli.add_typer(imports.app, name="import")
cli.add_typer(db.app, name="db")
cli.add_typer(reminders.app, name="påminnelser")
cli.add_typer(reminders.app, name="paminnelser", hidden=True)
cli.add_typer(exports.app, name="export")
cli.command("rapport")(report.report_cmd)
cli.add_typer(dataprotection.workspace_app, name="arbeidsområde")
cli.add_typer(dataprotection.workspace_app, name="arbeidsomrade", hidden=True)
cli.add_typer(dataprotection.person_app, name="person")


def main() -> None:
    try:
        cli()
    except SettingsError as err:
        print(f"dks-bot: {err}", file=sys.stderr)
        sys.exit(2)
