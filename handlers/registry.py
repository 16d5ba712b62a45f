"""Where features declare their commands, flows and button handlers.

Each feature module has ``register(registry)``; handlers/features.py lists the modules. The
router only consults the registry, so adding a feature never touches the router.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from core.messages import Reply
from handlers.context import Context

CommandFn = Callable[[Context, str], Awaitable[list[Reply]]]
FlowFn = Callable[[Context], Awaitable[list[Reply]]]
ButtonFn = Callable[[Context, str], Awaitable[list[Reply]]]
MessageFn = Callable[[Context], Awaitable[list[Reply]]]


@dataclass(frozen=True)
class Command:
    words: tuple[str, ...]  # the first word that triggers it, e.g. ("走访", "/visit")
    run: CommandFn  # called with the rest of the text after the word
    roles: frozenset[str]  # who may use it
    help: str = ""  # one line for 帮助; empty hides it
    prefix: bool = False  # also match when the word is glued to the text ("走访王三女")
    order: int = 100  # position in 帮助


@dataclass
class Registry:
    commands: list[Command] = field(default_factory=list)
    flows: dict[str, FlowFn] = field(default_factory=dict)  # flow name -> step handler
    # Command words a flow handles itself (any other command word ends the flow first).
    flow_words: dict[str, set[str]] = field(default_factory=dict)
    buttons: dict[str, ButtonFn] = field(default_factory=dict)  # payload prefix -> handler
    # Single slots, each claimed by one feature (a second claim is refused, see _claim):
    _photo: MessageFn | None = field(default=None, repr=False)  # a photo outside any flow
    _location: MessageFn | None = field(default=None, repr=False)  # a location outside flows
    _fallback: MessageFn | None = field(default=None, repr=False)  # free text, no command

    @staticmethod
    def _claim(slot: str, held: MessageFn | None, fn: MessageFn) -> MessageFn:
        if held is not None:
            raise ValueError(f"{slot} handler registered twice")
        return fn

    def photo_handler(self, fn: MessageFn) -> None:
        self._photo = self._claim("photo", self._photo, fn)

    def location_handler(self, fn: MessageFn) -> None:
        self._location = self._claim("location", self._location, fn)

    def fallback_handler(self, fn: MessageFn) -> None:
        self._fallback = self._claim("free-text fallback", self._fallback, fn)

    # Attribute form (``registry.on_photo = fn``), checked the same way.
    @property
    def on_photo(self) -> MessageFn | None:
        return self._photo

    @on_photo.setter
    def on_photo(self, fn: MessageFn) -> None:
        self.photo_handler(fn)

    @property
    def on_location(self) -> MessageFn | None:
        return self._location

    @on_location.setter
    def on_location(self, fn: MessageFn) -> None:
        self.location_handler(fn)

    @property
    def fallback(self) -> MessageFn | None:
        return self._fallback

    @fallback.setter
    def fallback(self, fn: MessageFn) -> None:
        self.fallback_handler(fn)

    def command(self, cmd: Command) -> None:
        for existing in self.commands:
            clash = set(existing.words) & set(cmd.words)
            if clash:
                raise ValueError(f"command word registered twice: {clash}")
        self.commands.append(cmd)

    def flow(self, name: str, fn: FlowFn, keeps: tuple[str, ...] = ()) -> None:
        """``keeps``: command words the flow continues with itself (e.g. a new 走访)."""
        if name in self.flows:
            raise ValueError(f"flow registered twice: {name}")
        self.flows[name] = fn
        self.flow_words[name] = set(keeps)

    def button(self, prefix: str, fn: ButtonFn) -> None:
        if prefix in self.buttons:
            raise ValueError(f"button prefix registered twice: {prefix}")
        self.buttons[prefix] = fn

    def match(self, text: str) -> tuple[Command, str] | None:
        """The command named by the first word of ``text`` and the rest of the text."""
        stripped = text.strip()
        if not stripped:
            return None
        first, _, rest = stripped.partition(" ")
        for cmd in self.commands:
            if first in cmd.words or first.lower() in cmd.words:
                return cmd, rest.strip()
        # Glued form: the longest command word the text starts with.
        best: tuple[Command, str] | None = None
        best_len = 0
        for cmd in self.commands:
            if not cmd.prefix:
                continue
            for word in cmd.words:
                if stripped.startswith(word) and len(word) > best_len:
                    best, best_len = (cmd, stripped[len(word) :].strip()), len(word)
        return best
