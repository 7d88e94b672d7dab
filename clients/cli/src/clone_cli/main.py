"""Entry point. ``clone hook`` takes a standard-library-only path so an agent's hook starts fast;
everything else loads the full command set."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["hook"] and not {"-h", "--help"} & set(args[1:]):
        from clone_cli.hook import run

        return run(args[1:])
    from clone_cli.app import run_app

    return run_app(args)
