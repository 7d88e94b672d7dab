"""Entry point. ``clone hook`` (an agent's hook) and ``clone record turn`` (the shell recorder's
sender, after every command) take standard-library-only paths so they start fast; everything
else loads the full command set."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["hook"] and not {"-h", "--help"} & set(args[1:]):
        from clone_cli.hook import run

        return run(args[1:])
    if args[:2] == ["record", "turn"] and not {"-h", "--help"} & set(args[2:]):
        from clone_cli.turn import run as record_turn

        return record_turn(args[2:])
    from clone_cli.app import run_app

    return run_app(args)
