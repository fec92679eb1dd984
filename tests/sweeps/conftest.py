"""Fixtures for the sweep tests: the analytic scene as a manifest folder, and the sweep
commands run through a parser built exactly as ``needlesim.cli`` builds its own."""

from __future__ import annotations

import argparse
import sys

import pytest

from tests.conftest import write_manifest




@pytest.fixture(scope="session")
def scene_dir(tmp_path_factory, analytic_scene):
    """The analytic scene written as a manifest folder."""
    return write_manifest(analytic_scene, tmp_path_factory.mktemp("scene"))


@pytest.fixture()
def cli():
    """``cli("sweep", ...)`` -> exit status."""
    return run_cli


def run_cli(*argv: str) -> int:
    """Run a sweep command as ``needlesim.cli.main`` would: errors -> one line, exit 2."""
    from needlesim.cli import _Parser
    from needlesim.cli_sweep import add_commands
    from needlesim.core.errors import NeedlesimError

    parser = _Parser(prog="needlesim")
    add_commands(parser.add_subparsers(dest="command", parser_class=_Parser))
    args: argparse.Namespace = parser.parse_args(list(argv))
    try:
        return int(args.func(args))
    except NeedlesimError as exc:
        print(f"needlesim {args.command}: error: {exc}", file=sys.stderr)
        return 2
