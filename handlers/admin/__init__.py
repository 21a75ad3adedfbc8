"""Roles: `/dks admin` lists the coordinators; `/dks admin legg til|fjern @navn` changes them.

Coordinators are workspace admins and owners plus the people listed here
(handlers/core/access.py has the rule). Only `/dks admin` itself: no buttons or forms.
Coordinators also see the data retention and the export/delete commands (privacy.py).
"""

from __future__ import annotations

from handlers.admin.commands import run_admin, writes
from handlers.core.commands import Subcommand
from handlers.core.feature import Feature, no_listeners
from handlers.core.i18n import N_

SUBCOMMANDS = [
    Subcommand(
        name="admin",
        aliases=("koordinator", "koordinatorer", "koordinatorar", "coordinators", "roller"),
        summary=N_(
            "viser hvem som er koordinatorer, og for koordinatorer hvor lenge data om "
            "arbeidsområdet lagres; en koordinator kan legge til og fjerne "
            "(`legg til @navn`, `fjern @navn`)."
        ),
        example=N_("/dks admin legg til @kari"),
        run=run_admin,
        coordinator=writes,
        refusal=N_(
            "Bare koordinatorer kan legge til eller fjerne koordinatorer. "
            "Skriv `/dks admin` for å se hvem som er det."
        ),
    )
]

FEATURE = Feature(name="admin", register=no_listeners, subcommands=SUBCOMMANDS)
