"""The words of `/dks påminnelser`: the subcommand and its verbs in bokmål, nynorsk and English.

One table routes them (every word in every language is accepted, whatever the reader's
language) and writes them in replies (`command(...)` in the reader's language), so a reply
never suggests a word the router does not know.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from handlers.core.commands import COMMAND
from handlers.core.i18n import current_language
from storage.folding import fold


@dataclass(frozen=True)
class Word:
    name: str  # the bokmål word
    # The word in the other languages ({"nn": "dagar", "en": "days"}).
    words: Mapping[str, str] = field(default_factory=dict)
    # Accepted too, never shown (typed in a hurry, or the old English word).
    aliases: tuple[str, ...] = ()

    def names(self) -> tuple[str, ...]:
        return (self.name, *self.words.values(), *self.aliases)

    def folded(self) -> frozenset[str]:
        return frozenset(fold(n) for n in self.names())

    def word(self, language: str | None = None) -> str:
        """The word as a reader of `language` (default: the one in force) types it."""
        return self.words.get(language or current_language(), self.name)


REMINDERS = Word(
    "påminnelser",
    {"nn": "påminningar", "en": "reminders"},
    aliases=("påminnelse", "påminning", "reminder"),
)
CHANNEL = Word("kanal", {"nn": "kanal", "en": "channel"})
OFF = Word("av", {"nn": "av", "en": "off"}, aliases=("pause", "stopp", "stop"))
ON = Word("på", {"nn": "på", "en": "on"}, aliases=("start", "fortsett", "resume"))
DAYS = Word("dager", {"nn": "dagar", "en": "days"}, aliases=("dag", "day"))
STATUS = Word("status", {"nn": "status", "en": "status"})
# After `dager`: back to the defaults.
DEFAULT = Word("standard", {"nn": "standard", "en": "default"})


def command(*verbs: Word) -> str:
    """`/dks påminnelser kanal` as the reader types it (nynorsk `/dks påminningar kanal`)."""
    return " ".join([COMMAND, REMINDERS.word(), *(verb.word() for verb in verbs)])
