"""The shell at a terminal, on prompt_toolkit: line editing, history, Esc to close a form,
and type-ahead fields answered by the bot's own `block_suggestion` listener as you type."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from prompt_toolkit import PromptSession
from prompt_toolkit.completion import CompleteEvent, Completer, Completion, ThreadedCompleter
from prompt_toolkit.document import Document
from prompt_toolkit.history import InMemoryHistory
from prompt_toolkit.key_binding import KeyBindings, KeyPressEvent

_CANCEL = "avbryt"


class _Suggestions(Completer):
    """Completions from the bot (through the shell's `complete`), for what is typed so far."""

    def __init__(self, complete: Callable[[str], list[str]]) -> None:
        self.complete = complete

    def get_completions(
        self, document: Document, complete_event: CompleteEvent
    ) -> Iterable[Completion]:
        typed = document.text_before_cursor
        for text in self.complete(typed):
            yield Completion(text, start_position=-len(typed))


def _form_keys() -> KeyBindings:
    keys = KeyBindings()

    # Esc closes the form, as in Slack. Eager: Esc is otherwise the start of Alt-sequences.
    @keys.add("escape", eager=True)
    def _close(event: KeyPressEvent) -> None:
        event.app.exit(result=_CANCEL)

    return keys


class TerminalInput:
    """Commands and form answers from a person at a terminal (or prompt_toolkit's test input:
    pass `input`/`output`)."""

    echo = False

    def __init__(self, **session_options: Any) -> None:
        self._commands: PromptSession[str] = PromptSession(
            history=InMemoryHistory(), **session_options
        )
        self._answers: PromptSession[str] = PromptSession(
            key_bindings=_form_keys(), **session_options
        )

    def command(self, prompt: str) -> str | None:
        try:
            return self._commands.prompt(prompt)
        except KeyboardInterrupt:
            return ""
        except EOFError:
            return None

    def answer(
        self, prompt: str, *, default: str = "", complete: Callable[[str], list[str]] | None = None
    ) -> str | None:
        completer = ThreadedCompleter(_Suggestions(complete)) if complete else None
        try:
            return self._answers.prompt(
                prompt,
                default=default,
                completer=completer,
                complete_while_typing=completer is not None,
            )
        except (KeyboardInterrupt, EOFError):
            return None
