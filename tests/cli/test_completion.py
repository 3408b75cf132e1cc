"""Shell completion: typer's, for bash, zsh and fish."""

from __future__ import annotations

import os
import subprocess

from tests.support.cli import BIN


def complete(words: str) -> list[str]:
    env = {**os.environ, "_WASMESH_COMPLETE": "complete_bash", "COMP_WORDS": words,
           "COMP_CWORD": str(len(words.split()) - (0 if words.endswith(" ") else 1))}  # fmt: skip
    done = subprocess.run([str(BIN / "wasmesh")], env=env, capture_output=True, text=True,
                          timeout=60, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


def test_commands_and_options_complete() -> None:
    assert "cache" in complete("wasmesh ca")
    assert set(complete("wasmesh cache ")) >= {"ls", "prune"}
    assert "--template" in complete("wasmesh new --te")


def test_the_completion_script_is_offered() -> None:
    # typer finds the shell from the parent processes (shellingham): run it from bash
    done = subprocess.run(["bash", "-c", f"{BIN / 'wasmesh'} --show-completion; exit $?"],
                          capture_output=True, text=True, timeout=60, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "_WASMESH_COMPLETE" in done.stdout
