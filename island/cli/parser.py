"""The argument parser every command uses: no prefix guessing, and a mistake in one line.

argparse takes `--max-eval` for `--max-evals` without a word (prefix matching), and
answers `--poplsize` with the whole usage, 49 lines for `island-node`. Here a flag is
taken only when spelled out, and an error is one line naming it, with the closest real
flag when there is one.
"""

from __future__ import annotations

import argparse
import difflib
import re
from typing import Any, NoReturn


class Parser(argparse.ArgumentParser):
    """`argparse.ArgumentParser` with `allow_abbrev=False` and one-line errors."""

    def __init__(self, *args: Any, **kwargs: Any):
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)

    def flags(self) -> list[str]:
        """Every long option this parser knows."""
        return [s for action in self._actions for s in action.option_strings
                if s.startswith("--")]

    def error(self, message: str) -> NoReturn:
        unknown = re.match(r"unrecognized arguments: (.*)", message)
        if unknown:
            first = unknown.group(1).split()[0]
            message = f"unknown option {first}{self.suggestion(first)}"
        self.exit(2, f"{self.prog}: {message} (--help lists every option)\n")

    def suggestion(self, flag: str) -> str:
        """`; did you mean --popsize?` for `--poplsize`, or nothing."""
        close = difflib.get_close_matches(flag.split("=")[0], self.flags(), n=1, cutoff=0.6)
        return f"; did you mean {close[0]}?" if close else ""


def undocumented(parser: argparse.ArgumentParser) -> list[str]:
    """The options of `parser` with no description (a test keeps this empty)."""
    return [action.option_strings[0] if action.option_strings else action.dest
            for action in parser._actions if not (action.help or "").strip()
            or (action.help or "").startswith("(default")]
