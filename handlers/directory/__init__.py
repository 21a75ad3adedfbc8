"""The directory: `/dks kontakt <søk>` finds contact people by name, role, school,
municipality or organisation, with mail and phone links (search.py, views.py).

Adding and editing contacts belongs to the editing feature (the Home tab's «Ny kontakt» and
contact picker); importing them to the imports feature.
"""

from __future__ import annotations

from handlers.core.commands import COMMAND, Subcommand
from handlers.core.feature import Feature, no_listeners
from handlers.directory.search import run_contacts

SUBCOMMANDS = [
    Subcommand(
        name="kontakt",
        aliases=("kontakter", "contact"),
        summary="finner kontaktpersoner på navn, rolle, skole, kommune eller organisasjon.",
        example=f"{COMMAND} kontakt kulturkontakt",
        run=run_contacts,
    )
]

FEATURE = Feature(name="directory", register=no_listeners, subcommands=SUBCOMMANDS)
