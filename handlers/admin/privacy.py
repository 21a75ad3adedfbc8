"""What `/dks admin` tells coordinators about their workspace's data: how long it is kept
after the bot is removed, and the commands that export or delete it (bot/cli/dataprotection.py).
"""

from __future__ import annotations

from handlers.core.format import escape
from handlers.core.i18n import _, ngettext


def retention_sentence(days: int) -> str:
    if days <= 0:
        return _(
            "Data om arbeidsområdet slettes innen en time etter at boten er fjernet fra Slack. "
            "Legger dere boten til igjen før det, blir ingenting slettet."
        )
    return ngettext(
        "Data om arbeidsområdet slettes %(n)d dag etter at boten er fjernet fra Slack. "
        "Legger dere boten til igjen før det, blir ingenting slettet.",
        "Data om arbeidsområdet slettes %(n)d dager etter at boten er fjernet fra Slack. "
        "Legger dere boten til igjen før det, blir ingenting slettet.",
        days,
    ) % {"n": days}


def privacy_text(*, team_id: str, retention_days: int) -> str:
    # The `dks-bot` commands are the CLI's own words: the same in every language.
    return _(
        "*Personvern:* %(retention)s\n"
        "Den som drifter boten kan eksportere eller slette alt som er lagret om "
        "arbeidsområdet, eller om én person ved innsyn eller sletting:\n"
        "• `dks-bot arbeidsområde eksporter --team %(team)s` og "
        "`dks-bot arbeidsområde slett --team %(team)s`\n"
        "• `dks-bot person eksporter --team %(team)s --bruker U…` og "
        "`dks-bot person slett --team %(team)s --bruker U…` "
        "(`--epost adresse` for kontakter uten Slack)"
    ) % {"retention": retention_sentence(retention_days), "team": escape(team_id)}
