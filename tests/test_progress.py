"""island-cluster's live progress: one table redrawn in place on a terminal, lines elsewhere."""

from __future__ import annotations

import os
import pty
import select

from island.progress import LiveProgress, format_rows, island_row

RECORD = {"generation": 12, "evaluations": 960, "wall": 4.0, "best": 187.25, "mean": 55.5,
          "champion": 120.0, "migrants_in": 7, "migrants_out": 9}


def _table(generation: int) -> list[str]:
    return format_rows([island_row("hebbian", {**RECORD, "generation": generation}, None),
                        island_row("oja", None, 1)])


def _read_all(fd: int) -> str:
    """Everything the terminal has received (it may arrive in several reads)."""
    chunks = []
    while select.select([fd], [], [], 0.5)[0]:
        chunks.append(os.read(fd, 65536))
    return b"".join(chunks).decode()


def test_the_table_is_redrawn_in_place_on_a_terminal():
    master, slave = pty.openpty()
    try:
        with os.fdopen(slave, "w", closefd=True) as terminal:
            progress = LiveProgress(terminal)
            assert progress.tty
            progress.update(_table(12), "line 12")
            progress.update(_table(13), "line 13")
            written = _read_all(master)
    finally:
        os.close(master)
    first, _, second = written.partition("\x1b[3F\x1b[J")  # up three lines, clear below
    assert second, f"no redraw in {written!r}"
    assert "line" not in written  # the one-line form is for pipes
    header, hebbian, oja = second.strip().splitlines()
    assert header.split()[:4] == ["island", "state", "gen", "evals"]
    assert hebbian.split()[:6] == ["hebbian", "running", "13", "960", "240", "187.25"]
    assert "7 / 9" in hebbian and oja.split()[:3] == ["oja", "exit", "1"]
    assert first.count("hebbian") == 1


def test_output_that_is_not_a_terminal_gets_plain_lines(tmp_path):
    with open(tmp_path / "out.txt", "w") as file:
        progress = LiveProgress(file)
        progress.update(_table(12), "line 12")
        progress.update(_table(13), "line 13")
        progress.message("island-cluster: done")
    assert (tmp_path / "out.txt").read_text() == "line 12\nline 13\nisland-cluster: done\n"
