"""What `/dks admin` tells coordinators about their workspace's data: how long it is kept
after the bot is removed, and the commands that export or delete it (bot/cli/dataprotection.py).
"""

from __future__ import annotations

from handlers.core.format import escape


def retention_sentence(days: int) -> str:
    if days <= 0:
        when = "innen en time etter at boten er fjernet fra Slack"
    else:
        when = f"{days} {'dag' if days == 1 else 'dager'} etter at boten er fjernet fra Slack"
    return (
        f"Data om arbeidsområdet slettes {when}. Legger dere boten til igjen før det, "
        "blir ingenting slettet."
    )


def privacy_text(*, team_id: str, retention_days: int) -> str:
    team = escape(team_id)
    return (
        f"*Personvern:* {retention_sentence(retention_days)}\n"
        "Den som drifter boten kan eksportere eller slette alt som er lagret om "
        "arbeidsområdet, eller om én person ved innsyn eller sletting:\n"
        f"• `dks-bot arbeidsområde eksporter --team {team}` og "
        f"`dks-bot arbeidsområde slett --team {team}`\n"
        f"• `dks-bot person eksporter --team {team} --bruker U…` og "
        f"`dks-bot person slett --team {team} --bruker U…` "
        "(`--epost adresse` for kontakter uten Slack)"
    )
