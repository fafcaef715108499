"""The `tunewise` command. Each verb lives in its own module with a ``register(app)`` function."""

from __future__ import annotations

import importlib
import sys

import typer

from tunewise.errors import TunewiseError

# One entry per verb module; each exposes register(app). Modules keep heavy imports inside commands.
VERB_MODULES = (
    "tunewise.cli.datasets",
    "tunewise.cli.audit",
    "tunewise.cli.catalog",
    "tunewise.cli.estimate",
    "tunewise.cli.pilot",
    "tunewise.cli.eval",
    "tunewise.cli.plan",
    "tunewise.cli.serve",
    "tunewise.cli.monitor",
    "tunewise.cli.review",
    "tunewise.cli.guardrails",
)

app = typer.Typer(
    name="tunewise",
    help="Should we fine-tune? Audit the data, price the options, pilot a real fine-tune, report.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def _register_all() -> None:
    for name in VERB_MODULES:
        importlib.import_module(name).register(app)


_register_all()


def main(argv: list[str] | None = None) -> None:
    """Console-script entry: maps TunewiseError to exit codes (2 bad input, 1 internal)."""
    from tunewise.cli._output import print_error

    try:
        app(args=argv, standalone_mode=True)
    except TunewiseError as exc:
        print_error(exc)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        sys.exit(130)


if __name__ == "__main__":  # pragma: no cover
    main()
