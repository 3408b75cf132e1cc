"""Engine failures become one sentence that names the real cause."""

from __future__ import annotations

from wasmesh.engine.faults import split_trap_text

# wasmtime-py 50.0.1's text for a host function given two borrows (see calls/test_borrows.py).
ENGINE_BUG = """error while executing at wasm backtrace:
    0:    0x166 - main!<wasm function 5>

Caused by:
    BUG: deferred host scope has no call context
location: crates/wasmtime/src/runtime/vm/component/resources.rs:328
version: 50.0.0

This is a bug in Wasmtime that was not thought to be reachable. A panic is
not happening to avoid taking down the thread, but this trap is being injected
into WebAssembly guests to prevent their execution. The Wasmtime project would
appreciate a bug report with a copy of this message to help investigate what
happened. If you're able to provide a reproduction, that would be appreciated,
but it is not necessary to do so and instead indicating that this is reachable
is a sufficiently actionable bug for maintainers to investigate.
"""

CHAIN = """error while executing at wasm backtrace:
    0:    0x15d - main!<wasm function 4>

Caused by:
    0: host function x failed
    1: borrow handles still remain at the end of the call
"""


def test_an_engine_bug_names_the_defect_not_the_boilerplate() -> None:
    cause, backtrace = split_trap_text(ENGINE_BUG)
    assert cause == (
        "wasmtime 50.0.0 hit an internal error at "
        "crates/wasmtime/src/runtime/vm/component/resources.rs:328: "
        "deferred host scope has no call context"
    )
    assert backtrace.strip() == "0:    0x166 - main!<wasm function 5>"


def test_the_innermost_cause_of_a_chain() -> None:
    cause, _ = split_trap_text(CHAIN)
    assert cause == "borrow handles still remain at the end of the call"
