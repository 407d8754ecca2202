"""Check and compile an uploaded rule set in a child process held to memory and time limits.

A rule set comes from a tenant: unpacking, parsing and compiling it (hyperscan needs about
2.5 KB a term and seconds per 10^5 terms) must not take the server's memory nor hold its
threads. :class:`Compiler` hands the upload to a child forked by a warm zygote
(``python -m trustdesk.screening.compiler --zygote``, :mod:`trustdesk.screening.zygote`), so
an upload pays neither an interpreter start nor a table build; the child sets its own
address-space (``RLIMIT_AS``) and CPU (``RLIMIT_CPU``) limits before reading it, loads the
rule set (archive limits and quotas, see :class:`~trustdesk.screening.sources.Limits`),
compiles it unless the on-disk cache holds the version, and answers the checked rules and
the compiled parts on its standard output. The zygote kills a child at the wall-clock
limit; the server only waits (no GIL held) and turns every limit hit into
:class:`RuleSetTooCostly`: nothing is deployed.

The child's answer is JSON (rules as plain lists) and raw bytes, never pickle: whatever a
rule set does to the child, it cannot make the parent run code.
"""

from __future__ import annotations

import json
import logging
import math
import os
import resource
import signal
import struct
import sys
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any, BinaryIO

from trustdesk.errors import InvalidInput, RateLimited, SourceError, SourceLocation
from trustdesk.policy.schema import Pack
from trustdesk.screening import zygote
from trustdesk.screening.cache import CompiledCache
from trustdesk.screening.engine import CompiledParts, compile_screener
from trustdesk.screening.normalize import DEFAULT_STEPS, Normalizer
from trustdesk.screening.rules import Action, Checks, Mode, Normalization, Origin, Rule
from trustdesk.screening.sources import Limits, RuleSetQuotaExceeded, RuleSetSource, load_archive

log = logging.getLogger("trustdesk.screening")
_HEADER = struct.Struct(">I")
_MiB = 1 << 20
# The child is one thread: no arena per thread, no thread pools reserving address space.
_CHILD_ENV = {"MALLOC_ARENA_MAX": "2", "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}


class RuleSetTooCostly(InvalidInput):
    """Checking or compiling the rule set went past the compiler's memory or time limit."""

    code = "ruleset_too_costly"
    title = "Rule set too costly to compile"


class CompilerBusy(RateLimited):
    """Every compiler slot stayed taken while this upload waited; try again later."""

    code = "ruleset_compiler_busy"


@dataclass(frozen=True, slots=True)
class CompileLimits:
    """What one child may use: address space, CPU seconds, wall seconds; and how many
    children one process runs at once (others wait up to ``wall_seconds`` for a slot)."""

    memory_bytes: int = 1024 * _MiB
    cpu_seconds: int = 60
    wall_seconds: float = 120.0
    concurrency: int = 1


@dataclass(frozen=True, slots=True)
class Compiled:
    """A checked rule set and its compiled parts (None: the cache already holds them)."""

    source: RuleSetSource
    parts: CompiledParts | None


class Compiler:
    """Runs the child; ``limits`` bound it, ``quotas`` bound the rule sets it accepts."""

    def __init__(
        self, limits: CompileLimits, quotas: Limits, cache: CompiledCache | None = None
    ) -> None:
        self.limits, self.quotas, self.cache = limits, quotas, cache
        self._slots = threading.BoundedSemaphore(limits.concurrency)

    def check(self, archive: bytes, packs: Sequence[Pack], *, quotas: bool = True) -> RuleSetSource:
        """Load and check the rule set in ``archive`` (nothing compiled); without ``quotas``
        only the ceilings apply (a version deployed before, as :meth:`rebuild`)."""
        return self._run(archive, packs, compile_=False, quotas=quotas).source

    def compile(
        self, archive: bytes, packs: Sequence[Pack], *, quotas: bool = True, cached: bool = True
    ) -> Compiled:
        """Check and compile an upload. With ``cached``, a version the cache holds is not
        compiled again (its parts are None)."""
        return self._run(archive, packs, compile_=True, quotas=quotas, cached=cached)

    def rebuild(self, archive: bytes, packs: Sequence[Pack], *, cached: bool = True) -> Compiled:
        """:meth:`compile` a version deployed before, which screening needs now: only the
        ceilings apply (lowering a quota never breaks an active rule set), and it does not
        queue behind uploads for a slot (an upload's compile never stalls screening)."""
        return self._run(archive, packs, compile_=True, quotas=False, cached=cached, queue=False)

    def _run(
        self,
        archive: bytes,
        packs: Sequence[Pack],
        *,
        compile_: bool,
        quotas: bool,
        cached: bool = True,
        queue: bool = True,
    ) -> Compiled:
        limits = self.limits
        header = {
            "categories": dict(Checks.of(packs).categories),
            "limits": _limits_json(self.quotas if quotas else Limits()),
            "compile": compile_,
            "cache": str(self.cache.folder) if self.cache and compile_ and cached else None,
        }
        request = _frame(json.dumps(header).encode()) + archive
        if not queue:
            return self._answer(*self._child(request))
        if not self._slots.acquire(timeout=limits.wall_seconds):
            raise CompilerBusy(
                "every rule-set compiler slot stayed busy for "
                f"{limits.wall_seconds:g} s; try again later",
                retry_after=math.ceil(limits.wall_seconds),
            )
        try:
            returncode, out, err = self._child(request)
        finally:
            self._slots.release()
        return self._answer(returncode, out, err)

    def _child(self, request: bytes) -> tuple[int | None, bytes, bytes]:
        """Run a child on ``request``: its exit status (None: killed at the wall-clock
        limit), standard output and error. The child is forked by a warm zygote
        (:mod:`trustdesk.screening.zygote`), so an upload pays no interpreter start."""
        command = [
            sys.executable,
            "-P",
            "-m",
            "trustdesk.screening.compiler",
            "--zygote",
            str(self.limits.memory_bytes),
            str(self.limits.cpu_seconds),
            str(self.limits.wall_seconds),
        ]
        with zygote.borrowed(command, _child_env(), self.limits.wall_seconds) as warm:
            try:
                return warm.run(request)
            except zygote.ZygoteFailed as exc:  # killed or broken: once more, on a new one
                log.warning("%s; starting another", exc)
                return warm.run(request)

    def _answer(self, returncode: int | None, out: bytes, err: bytes) -> Compiled:
        limits = self.limits
        if returncode is None:
            raise RuleSetTooCostly(
                f"checking and compiling the rule set took more than {limits.wall_seconds:g} s "
                "(TRUSTDESK_RULESET_COMPILE_WALL_SECONDS); nothing was deployed"
            )
        if returncode == -signal.SIGXCPU:
            raise RuleSetTooCostly(
                f"checking and compiling the rule set used more than {limits.cpu_seconds} s of "
                "CPU (TRUSTDESK_RULESET_COMPILE_CPU_SECONDS); nothing was deployed"
            )
        try:
            answer, rest = _unframe(out)
        except ValueError:
            answer, rest = {"error": "crashed"}, b""
        error = answer.get("error")
        if error is None:
            return _compiled(answer, rest)
        if error == SourceError.code:
            raise SourceError([SourceLocation(*p) for p in answer["problems"]])
        if error == RuleSetQuotaExceeded.code:
            raise RuleSetQuotaExceeded(str(answer["message"]))
        if returncode != 0:
            if returncode != 3:  # 3: a MemoryError; other stops are worth a look
                log.warning("the rule-set compiler stopped (%s): %s", returncode, err[-2000:])
            raise RuleSetTooCostly(
                "checking and compiling the rule set needed more than "
                f"{limits.memory_bytes // _MiB} MiB (TRUSTDESK_RULESET_COMPILE_MEMORY_BYTES); "
                "nothing was deployed"
            )
        raise RuntimeError(f"the rule-set compiler answered {answer!r}")  # pragma: no cover


def _child_env() -> dict[str, str]:
    """The server's environment without its settings (secrets among them), and one thread."""
    kept = {k: v for k, v in os.environ.items() if not k.startswith("TRUSTDESK_")}
    return {**kept, **_CHILD_ENV}


def _frame(data: bytes) -> bytes:
    return _HEADER.pack(len(data)) + data


def _unframe(data: bytes) -> tuple[dict[str, Any], bytes]:
    if len(data) < _HEADER.size:
        raise ValueError("no answer")
    (size,) = _HEADER.unpack_from(data)
    end = _HEADER.size + size
    answer = json.loads(data[_HEADER.size : end])
    if not isinstance(answer, dict):
        raise ValueError("not an answer")
    return answer, data[end:]


def _limits_json(limits: Limits) -> dict[str, int | None]:
    return {
        "unpacked_bytes": limits.unpacked_bytes,
        "member_bytes": limits.member_bytes,
        "members": limits.members,
        "ratio": limits.ratio,
        "terms": limits.terms,
        "rules": limits.rules,
    }


def source_json(source: RuleSetSource) -> dict[str, Any]:
    """``source`` as JSON-ready data (:func:`source_of` reads it back)."""
    return {
        "version": source.version,
        "files": list(source.files),
        "normalization": source.normalization.model_dump(mode="json"),
        "rules": [
            [
                r.id,
                r.category,
                str(r.action),
                str(r.mode),
                r.terms,
                r.patterns,
                r.except_terms,
                dict(r.description),
                [r.source.file, r.source.line, r.source.column],
            ]
            for r in source.rules
        ],
    }


def source_of(data: Mapping[str, Any]) -> RuleSetSource:
    rules = tuple(
        Rule(
            rule_id,
            category,
            Action(action),
            Mode(mode),
            tuple(terms),
            tuple(patterns),
            tuple(excepts),
            MappingProxyType(dict(description)),
            Origin(*origin),
        )
        for rule_id, category, action, mode, terms, patterns, excepts, description, origin in (
            data["rules"]
        )
    )
    return RuleSetSource(
        version=str(data["version"]),
        rules=rules,
        normalization=Normalization.model_validate(data["normalization"]),
        files=tuple(data["files"]),
    )


def _compiled(answer: Mapping[str, Any], rest: bytes) -> Compiled:
    source = source_of(answer["source"])
    sizes = answer.get("parts")
    if sizes is None:
        return Compiled(source, None)
    literals, exceptions = sizes
    if len(rest) != literals + exceptions:
        raise RuntimeError("the rule-set compiler's answer is truncated")
    return Compiled(source, CompiledParts(rest[:literals], rest[literals:]))


# The child ------------------------------------------------------------------------------


def _limit(memory: int, cpu: int) -> None:
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 5))  # SIGXCPU, then SIGKILL


def _work(header: Mapping[str, Any], archive: bytes) -> tuple[dict[str, Any], bytes]:
    """The answer to one request, and the compiled parts' bytes that follow it."""
    try:
        checks = Checks(categories=dict(header["categories"]))
        limits = Limits(**header["limits"])
        source = load_archive(archive, checks, name="upload.zip", limits=limits)
        answer: dict[str, Any] = {"source": source_json(source), "parts": None}
        cache = CompiledCache(Path(header["cache"])) if header["cache"] else None
        if header["compile"] and (cache is None or cache.get(source.version) is None):
            parts = compile_screener(source)[1]
            answer["parts"] = [len(parts.literals), len(parts.exceptions)]
            return answer, parts.literals + parts.exceptions
        return answer, b""
    except SourceError as exc:
        located = [[p.file, p.line, p.column, p.message] for p in exc.problems]
        return {"error": exc.code, "problems": located}, b""
    except RuleSetQuotaExceeded as exc:
        return {"error": exc.code, "message": exc.message}, b""


def _job(memory: int, cpu: int, request: bytes, stdout: BinaryIO) -> int:
    """The child: limit itself, answer ``request`` on ``stdout``; the exit status (3: out of
    memory)."""
    _limit(memory, cpu)
    try:
        header, archive = _unframe(request)
        answer, body = _work(header, archive)
        stdout.write(_frame(json.dumps(answer).encode()) + body)
        stdout.flush()
    except MemoryError:
        return 3
    except Exception as exc:  # hyperscan's compiler says so in words
        if "allocate memory" in str(exc):
            return 3
        raise
    return 0


def _zygote(argv: Sequence[str], stdin: BinaryIO, stdout: BinaryIO) -> int:
    """The zygote (``argv``: address-space bytes, CPU seconds, wall seconds): warm up what
    every child needs (imports, the default normalization tables), then fork a child per
    request until the server closes the pipe."""
    memory, cpu, wall = int(argv[0]), int(argv[1]), float(argv[2])
    Normalizer(DEFAULT_STEPS).normalize("warm-up")
    return zygote.serve(stdin, stdout, lambda request, out: _job(memory, cpu, request, out), wall)


if __name__ == "__main__":  # python -m trustdesk.screening.compiler --zygote MEMORY CPU WALL
    sys.exit(_zygote(sys.argv[2:], sys.stdin.buffer, sys.stdout.buffer))
