"""The directory: `/dks kontakt <søk>` finds contact people by name, role, school,
municipality or organisation, with mail and phone links (search.py, views.py).

Adding and editing contacts belongs to the editing feature (the Home tab's «Ny kontakt» and
contact picker); importing them to the imports feature.
"""

from __future__ import annotations

from handlers.core.commands import Subcommand
from handlers.core.feature import Feature, no_listeners
from handlers.core.i18n import N_
from handlers.directory.search import run_contacts

SUBCOMMANDS = [
    Subcommand(
        name="kontakt",
        words={"nn": "kontakt", "en": "contact"},
        aliases=("kontakter", "kontaktar", "contacts"),
        summary=N_("finner kontaktpersoner på navn, rolle, skole, kommune eller organisasjon."),
        example=N_("/dks kontakt kulturkontakt"),
        run=run_contacts,
    )
]

FEATURE = Feature(name="directory", register=no_listeners, subcommands=SUBCOMMANDS)
