"""The compiler's zygote: one warm process forks every compile, and a dead one is replaced."""

from __future__ import annotations

import io
import os
import signal
import zipfile

import pytest

from trustdesk.policy.service import PackRegistry
from trustdesk.screening import zygote
from trustdesk.screening.compiler import CompileLimits, Compiler
from trustdesk.screening.sources import Limits

from desk import RULES


def _archive() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("rules.yaml", RULES)
    return buffer.getvalue()


def _zygote_pids() -> set[int]:
    return {
        z._process.pid
        for pool in zygote._POOLS.values()
        for z in pool
        if z._process is not None and z._process.poll() is None
    }


def test_one_warm_zygote_serves_every_compile_and_a_killed_one_is_replaced(
    packs: PackRegistry,
) -> None:
    # limits of their own, so this test has a pool of its own
    compiler = Compiler(CompileLimits(wall_seconds=61.5), Limits())
    chosen = [packs.get("cn-xj-2014"), packs.get("eu-dsa")]
    first = compiler.compile(_archive(), chosen, cached=False)
    before = _zygote_pids()
    second = compiler.compile(_archive(), chosen, cached=False)
    assert first.parts is not None and second.parts is not None
    assert first.source.version == second.source.version
    assert _zygote_pids() == before, "the second compile was forked by the same zygote"

    for pid in before:
        os.kill(pid, signal.SIGKILL)
    third = compiler.compile(_archive(), chosen, cached=False)
    assert third.parts is not None
    assert third.parts.literals == first.parts.literals
    after = _zygote_pids()
    assert after and not after & before, "a new zygote took the dead one's place"


def test_compilers_share_warm_zygotes_whatever_the_environment_says_meanwhile(
    packs: PackRegistry, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each test changes PYTEST_CURRENT_TEST, a server's environment changes too: neither
    may start a zygote per compile."""
    chosen = [packs.get("cn-xj-2014"), packs.get("eu-dsa")]
    limits = CompileLimits(wall_seconds=62.5)
    Compiler(limits, Limits()).compile(_archive(), chosen, cached=False)
    before = _zygote_pids()
    for n in range(3):
        monkeypatch.setenv("SOMETHING_THAT_CHANGES", str(n))
        Compiler(limits, Limits()).compile(_archive(), chosen, cached=False)
    assert _zygote_pids() == before
