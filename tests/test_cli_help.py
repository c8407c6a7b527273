"""Every command explains each of its flags, and a mistyped flag is one line naming the fix."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from island.cli import keygen, node
from island.cli.parser import undocumented
from island.lab.cli import cluster, dashboard, evaluate, report, transfer

BIN = Path(sys.executable).parent
PARSERS = {
    "island-node": node._parser, "island-node status": node._status_parser,
    "island-cluster": cluster._parser, "island-dashboard": dashboard._parser,
    "island-eval": evaluate._parser, "island-keygen": keygen._parser,
    "island-report": report._parser, "island-transfer": transfer._parser,
}


@pytest.mark.parametrize("command", sorted(PARSERS))
def test_every_flag_has_a_description(command):
    parser = PARSERS[command]()
    assert undocumented(parser) == []
    assert len(parser.flags()) >= 2


def test_island_node_describes_every_config_option_in_one_line():
    parser = node._parser()
    options = [a for a in parser._actions if a.option_strings]
    assert len(options) > 70  # every field of every config section is a flag
    popsize = next(a for a in options if "--popsize" in a.option_strings)
    assert popsize.help.startswith("CMA-ES population") and "default: 0" in popsize.help


def test_a_prefix_of_a_flag_is_not_taken_for_it(capsys):
    with pytest.raises(SystemExit) as stop:
        node._parser().parse_args(["--max-eval", "100"])
    assert stop.value.code == 2
    assert capsys.readouterr().err == (
        "island-node: unknown option --max-eval; did you mean --max-evals? "
        "(--help lists every option)\n")


def test_a_mistyped_flag_is_one_line_with_the_closest_flag():
    done = subprocess.run([str(BIN / "island-node"), "--poplsize", "16"], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.splitlines() == [
        "island-node: unknown option --poplsize; did you mean --popsize? "
        "(--help lists every option)"]


def test_a_flag_nothing_resembles_gets_no_guess(capsys):
    with pytest.raises(SystemExit):
        report._parser().parse_args(["runs/x", "--zzzz"])
    assert capsys.readouterr().err == (
        "island-report: unknown option --zzzz (--help lists every option)\n")
