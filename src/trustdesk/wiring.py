"""The process's wiring: one frozen :class:`Desk` of the settings, the database, the packs,
the keys, the registries, the limiters and the listeners.

:func:`build_desk` makes it, once by the app factory (:func:`trustdesk.app.create_app`) and
once per command by the CLI (:mod:`trustdesk.cli.context`). The slices below this module
cannot import it: each slice's routes declare, as a small ``Protocol``, the part of the desk
they use, and receive the desk through the one dependency that reads it
(:func:`trustdesk.http.deps.get_desk`); ``trustdesk.app`` has mypy check that the Desk
satisfies each of them. The console, above this module, takes the Desk itself.

Tests give a part of their own with :func:`dataclasses.replace` before the app is built
(``create_app(..., adjust=...)``); the listeners are the desk's methods, so they always use
the desk's own parts.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlalchemy.orm import Session

from trustdesk.auth import service as auth
from trustdesk.banks.held import HeldIndexes
from trustdesk.callers import Authenticator, ServiceCaller
from trustdesk.cases import screened as cases_screened
from trustdesk.cases.outbound import AddressGuard
from trustdesk.cases.strikes import StrikePolicy
from trustdesk.compliance import service as compliance
from trustdesk.crypto.logdigest import LogDigestKey
from trustdesk.db.base import utcnow
from trustdesk.db.engine import Database
from trustdesk.http.ratelimit import RateLimiter
from trustdesk.http.recent import Recent
from trustdesk.identity import disclosure
from trustdesk.identity import service as identity
from trustdesk.identity.vault import Vault, open_vault
from trustdesk.policy.schema import Pack
from trustdesk.policy.service import PackRegistry, load_registry
from trustdesk.records import service as records
from trustdesk.records.keys import load_or_create_signer
from trustdesk.records.note import NoteSigner
from trustdesk.screening.compiler import CompileLimits, Compiler
from trustdesk.screening.door import GateMemory
from trustdesk.screening.driver import OutboxDriver
from trustdesk.screening.keeper import Keeper
from trustdesk.screening.runtime import CompiledCache, ScreenerRegistry
from trustdesk.screening.sources import Limits
from trustdesk.screening.tally import Tally
from trustdesk.screening.uploads import UploadQuota
from trustdesk.settings import Environment, Settings

PACKS_SECONDS = 1.0  # how long a service's pack list is reused (like the active rule set)
LOGIN_ATTEMPTS_PER_MINUTE = 10  # console sign-ins from one address


class KeyFiles:
    """The key files the settings name, each opened (and made, the first time) once, on
    first use: a command opens only the keys it needs."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._lock = threading.Lock()
        self._vault: Vault | None = None
        self._signer: NoteSigner | None = None

    def vault(self) -> Vault:
        """The identity vault: the key ring and the blind-index key."""
        with self._lock:
            if self._vault is None:
                self._vault = open_vault(self.settings)
            return self._vault

    def log_signer(self) -> NoteSigner:
        """The key that signs the record log's checkpoints."""
        with self._lock:
            if self._signer is None:
                settings = self.settings
                self._signer = load_or_create_signer(
                    settings.log_signing_key_path, settings.log_origin
                )
            return self._signer


@dataclass(frozen=True, slots=True)
class Desk:
    """Everything the routes, pages and commands share, built once from the settings."""

    settings: Settings
    database: Database
    packs: PackRegistry  # every pack this server knows
    keys: KeyFiles
    authenticator: Authenticator  # bearer credential -> caller (the auth slice's)
    circles: disclosure.Circles  # who controls whom, for disclosures' separation of duties
    webhook_guard: AddressGuard  # where webhooks may connect (tests give it a resolver)
    strike_policy: StrikePolicy
    notice_limiter: RateLimiter
    login_limiter: RateLimiter
    screeners: ScreenerRegistry
    upload_quota: UploadQuota
    console_clock: Callable[[], datetime] = utcnow  # the time for console session checks
    # What the HTTP door remembers for a second (tests give them a clock they move):
    known_keys: Recent[bytes, ServiceCaller] = field(default_factory=Recent)
    known_gates: GateMemory = field(default_factory=Recent)
    _remembered: Recent[uuid.UUID, tuple[Pack, ...]] = field(
        default_factory=lambda: Recent(PACKS_SECONDS), init=False, repr=False, compare=False
    )
    # Each desk's own (made again by dataclasses.replace): the counts of unstored verdicts
    # (None: written at once) and the follow-ups of stored ones, told to its listener.
    screening_tally: Tally | None = field(init=False, repr=False, compare=False)
    screening_outbox: OutboxDriver = field(init=False, repr=False, compare=False)
    screening_keeper: Keeper = field(init=False, repr=False, compare=False)  # durable writes
    bank_indexes: HeldIndexes = field(init=False, repr=False, compare=False)  # loaded at start

    def __post_init__(self) -> None:
        settings = self.settings
        tally = Tally() if settings.screening_counts_flush_seconds else None
        outbox = OutboxDriver(
            self.database,
            self.screening_listener,
            poll_seconds=settings.screening_outbox_poll_seconds,
        )
        object.__setattr__(self, "screening_tally", tally)
        object.__setattr__(self, "screening_outbox", outbox)
        object.__setattr__(self, "screening_keeper", Keeper(self.database, tally))
        object.__setattr__(self, "bank_indexes", HeldIndexes())

    @property
    def vault(self) -> Vault:
        return self.keys.vault()

    @property
    def log_signer(self) -> NoteSigner:
        return self.keys.log_signer()

    def service_packs(self, session: Session, service_id: uuid.UUID) -> tuple[Pack, ...]:
        """A service's packs, read at most once a second: every screen asks (the gate).
        A :class:`trustdesk.policy.service.ServicePacks`."""
        packs = self._remembered.get(service_id)
        if packs is None:
            packs = compliance.packs_for(session, self.packs, service_id)
            self._remembered.put(service_id, packs)
        return packs

    def publish_gate(self, session: Session, service_id: uuid.UUID, subject: str | None) -> bool:
        """Whether a subject may publish (a :class:`trustdesk.screening.service.PublishGate`)."""
        return identity.may_publish(
            session, service_id, self.service_packs(session, service_id), subject
        )

    @property
    def screening_listener(self) -> cases_screened.CasesListener:
        """Held and blocked content reaches review (a
        :class:`trustdesk.screening.service.ScreeningListener`, which follows up a drain's
        batch as a whole)."""
        return cases_screened.CasesListener(self.service_packs, self.strike_policy)


def build_desk(settings: Settings, database: Database, *, open_keys: bool = True) -> Desk:
    """The wiring of ``settings`` over ``database``.

    With ``open_keys`` (the server) the key files are opened now, made the first time, so a
    bad one stops the start; without (a command) each is opened when first used.
    """
    packs = load_packs(settings)
    keys = KeyFiles(settings)
    if open_keys:  # (a command's database has the key's path from cli.context.open_database)
        records.use_digest_key(database, LogDigestKey.open(settings.log_digest_key_path))
        keys.log_signer()
        keys.vault()
    return Desk(
        settings=settings,
        database=database,
        packs=packs,
        keys=keys,
        authenticator=auth.authenticate,
        circles=auth.circles,
        webhook_guard=webhook_guard(settings),
        strike_policy=StrikePolicy(
            warn_at=settings.strike_warn_at,
            suspend_at=max(settings.strike_suspend_at, settings.strike_warn_at + 1),
            expiry_days=settings.strike_expiry_days,
        ),
        notice_limiter=RateLimiter(settings.notices_per_minute, database, "notices"),
        login_limiter=RateLimiter(LOGIN_ATTEMPTS_PER_MINUTE, database, "logins"),
        screeners=screeners(settings, packs.all),
        upload_quota=UploadQuota(settings.max_ruleset_bytes, settings.ruleset_deploys_per_hour),
    )


def load_packs(settings: Settings, extra: Sequence[Path] = ()) -> PackRegistry:
    """The built-in packs and those in the settings' pack folders (and in ``extra`` ones,
    which a command may be given)."""
    return load_registry([*settings.pack_dirs, *extra])


def webhook_guard(settings: Settings) -> AddressGuard:
    """Where webhooks may connect: outside production anywhere, in production the internet."""
    return AddressGuard(allow_internal=settings.environment is not Environment.PRODUCTION)


def screeners(settings: Settings, packs: Callable[[], Sequence[Pack]]) -> ScreenerRegistry:
    """The process's screeners, compiling uploads in child processes held to the settings."""
    cache = CompiledCache.of(settings)
    limits = CompileLimits(
        memory_bytes=settings.ruleset_compile_memory_bytes,
        cpu_seconds=settings.ruleset_compile_cpu_seconds,
        wall_seconds=settings.ruleset_compile_wall_seconds,
        concurrency=settings.ruleset_compile_concurrency,
    )
    compiler = Compiler(limits, ruleset_limits(settings), cache)
    return ScreenerRegistry(packs, cache, keep=settings.ruleset_versions_kept, compiler=compiler)


def ruleset_limits(settings: Settings) -> Limits:
    """What one rule set may unpack to and hold, from the settings (a service's quotas)."""
    return Limits(
        unpacked_bytes=settings.ruleset_max_unpacked_bytes,
        member_bytes=settings.ruleset_max_member_bytes,
        members=settings.ruleset_max_members,
        ratio=settings.ruleset_max_compression_ratio,
        terms=settings.ruleset_max_terms,
        rules=settings.ruleset_max_rules,
    )
