"""Settings, read from the environment (prefix ``TRUSTDESK_``) or a ``.env`` file.

Nothing here is built at import time: callers ask :func:`get_settings` (or build
:class:`Settings` themselves in tests) and pass the object on.  Outside development
mode the settings fail closed: a missing or placeholder secret refuses to start with a
message that names the variable to set.
"""

from __future__ import annotations

import enum
import ipaddress
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from trustdesk.errors import ConfigurationError

PLACEHOLDER_SECRETS = frozenset({"", "change-me", "changeme", "secret", "development-only"})
DEFAULT_DATABASE_URL = "sqlite:///./var/trustdesk.db"


class Environment(enum.StrEnum):
    DEVELOPMENT = "development"
    TEST = "test"
    PRODUCTION = "production"


def _number(default: float, low: float, high: float | None = None, *, about: str) -> Any:
    """A numeric setting from ``low`` to ``high`` (no upper bound if ``None``)."""
    return Field(default=default, ge=low, le=high, description=about)


def _path(default: str, *, about: str) -> Any:
    """A file or folder setting, relative to the working folder unless absolute."""
    return Field(default=Path(default), description=about)


class Settings(BaseSettings):
    """Everything trustdesk can be configured with."""

    model_config = SettingsConfigDict(
        env_prefix="TRUSTDESK_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
    )

    environment: Environment = Field(
        default=Environment.DEVELOPMENT,
        description="Outside development, placeholder secrets refuse to start, and webhooks "
        "reach public internet addresses only in production.",
    )
    database_url: str = Field(
        default=DEFAULT_DATABASE_URL,
        description="The database: sqlite:///PATH or postgresql://USER@HOST/DB.",
    )
    database_pool_size: int = _number(
        8,
        1,
        500,
        about="PostgreSQL connections each server process keeps open. Every process of "
        "every host has its own pool: keep hosts x workers x (this + the overflow) below "
        "the server's max_connections (100 by default), with room for commands.",
    )
    database_max_overflow: int = _number(
        4, 0, 500, about="Connections a process may open beyond its pool at a peak (closed after)."
    )
    database_pool_recycle_seconds: int = _number(
        1800,
        0,
        about="Replace a pooled connection this old (0: never); keep it below any idle "
        "timeout between the hosts and PostgreSQL (a proxy, a firewall, PgBouncer).",
    )
    lease_ttl_seconds: float = Field(
        default=5.0,
        ge=1,
        le=300,
        description="How long a background loop's lease lasts unless renewed (every third "
        "of it): another process takes the loop over this long after its holder dies.",
    )
    secret_key: SecretStr = Field(
        default=SecretStr("development-only"),
        description="Keys the console's cookies and its visitors' CSRF tokens.",
    )
    console_idle_minutes: int = _number(
        30, 1, 24 * 60, about="A console session ends after this many minutes without a request."
    )
    console_session_hours: int = _number(
        12,
        1,
        24 * 7,
        about="A console session ends this many hours after signing in, however busy.",
    )
    host: str = Field(default="127.0.0.1", description="Where `trustdesk serve` listens.")
    port: int = Field(
        default=8000, ge=1, le=65535, description="The port `trustdesk serve` listens on."
    )
    access_log: bool = Field(
        default=False,
        description="Whether `trustdesk serve` logs a line per request (off: each line is "
        "written on the event loop, a cost per request and a stall when the log's reader is "
        "slow; a reverse proxy usually keeps the access log).",
    )
    pack_dirs: list[Path] = Field(
        default_factory=list,
        description="Extra folders holding operator policy packs (one pack per sub-folder).",
    )
    log_origin: str = Field(
        default="trustdesk.local/log",
        pattern=r"^[!-~]{1,200}$",
        description="Names the record log in its checkpoints (and names its signing key).",
    )
    log_signing_key_path: Path = _path(
        "var/keys/log-signing.key",
        about="Ed25519 key that signs checkpoints; made on first start, kept outside the database.",
    )
    keyring_path: Path = _path(
        "var/keys/keyring.json",
        about="Local key ring (key-encryption keys for evidence and the identity vault).",
    )
    blind_index_key_path: Path = _path(
        "var/keys/blind-index.key",
        about="HMAC key of the identity vault's blind index (finds duplicate document "
        "numbers without decrypting); made on first start, kept apart from the key ring.",
    )
    log_digest_key_path: Path = _path(
        "var/keys/log-digest.key",
        about="HMAC key of the digests that record-log entries carry instead of "
        "guessable values (subjects, content ids, authorities, references, names); made on "
        "first start, kept outside the database. Losing it only stops new digests from "
        "matching old ones.",
    )
    disclosure_max_subjects: int = _number(
        10,
        1,
        1000,
        about="Most subjects one identity disclosure request may name (no bulk export).",
    )
    disclosure_reveal_hours: int = _number(
        72, 1, 24 * 90, about="How long after its approval a disclosure may be revealed (once)."
    )
    identity_retention_days: int = _number(
        180,
        0,
        36_500,
        about="Keep an identity this many days after its erasure is requested (the "
        "account closed) before its data key is destroyed.",
    )
    forwarded_allow_ips: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Addresses or networks (CIDR) of the reverse proxies whose "
        "X-Forwarded-For and X-Forwarded-Proto are believed, comma-separated; none by "
        "default: the connecting address is the client (rate limits key on it).",
    )
    notices_per_minute: int = _number(
        30, 1, about="Notices one client address may send a minute (POST /v1/notices)."
    )
    strike_warn_at: int = Field(
        default=2, ge=1, description="Active strikes that bring a warning (DSA art. 23(1))."
    )
    strike_suspend_at: int = Field(
        default=3, ge=2, description="Active strikes that bring an automatic suspension."
    )
    strike_expiry_days: int = Field(
        default=365, ge=1, le=3650, description="How long a strike counts."
    )
    evidence_retention_days: int | None = Field(
        default=None,
        ge=1,
        le=36_500,
        description="Keep preserved evidence this many days, overriding the packs' "
        "record-preservation retention (default: the longest among the service's packs).",
    )
    checkpoint_interval_seconds: int = _number(
        60, 0, about="Sign a checkpoint at least this often while the log grows (0: off)."
    )
    delivery_interval_seconds: int = _number(
        5,
        0,
        about="Deliver due actions to the services' webhooks this often (0: off; "
        "`trustdesk actions deliver` runs one pass).",
    )
    delivery_max_attempts: int = _number(
        8, 1, 50, about="Webhook attempts per action before it goes dead for an operator."
    )
    delivery_timeout_seconds: float = Field(
        default=10.0,
        gt=0,
        le=60,
        description="Hard deadline of one webhook attempt, all of it: resolving the host, "
        "connecting, TLS, sending, and the answer's status and headers.",
    )
    delivery_concurrency: int = _number(
        8,
        1,
        256,
        about="Webhook attempts one process keeps in flight at once, each to a "
        "different service (one slot per service, handed out round robin).",
    )
    cache_dir: Path = _path("var/cache", about="Compiled rule sets and other rebuildable files.")
    ruleset_cache_max_bytes: int = _number(
        1024 * 1024 * 1024,
        1024 * 1024,
        about="Most bytes of compiled rule sets kept in the cache folder; past it the least "
        "recently used are removed (a process rebuilds one from its stored upload).",
    )
    max_ruleset_bytes: int = _number(
        16 * 1024 * 1024,
        1024,
        about="Largest rule-set upload (a rule file or zip, API and console) accepted.",
    )
    ruleset_max_unpacked_bytes: int = _number(
        64 * 1024 * 1024,
        1024,
        about="Most bytes one rule set may unpack to (every file of a zip, counted as "
        "it is unpacked).",
    )
    ruleset_max_member_bytes: int = Field(
        default=32 * 1024 * 1024, ge=1024, description="Most bytes one file of a zip unpacks to."
    )
    ruleset_max_members: int = Field(
        default=2_000, ge=1, le=10_000, description="Most entries (files and folders) in a zip."
    )
    ruleset_max_compression_ratio: int = _number(
        100,
        2,
        500,
        about="Most times smaller than its content a zip entry over 1 MiB may be packed "
        "(more: refused as a likely zip bomb).",
    )
    ruleset_max_terms: int = _number(
        250_000,
        1,
        5_000_000,
        about="Most terms (with except_terms) in one service's rule set. Compiling takes "
        "about 2.5 KB of memory a term: raise TRUSTDESK_RULESET_COMPILE_MEMORY_BYTES with it.",
    )
    ruleset_max_rules: int = Field(
        default=10_000, ge=1, le=100_000, description="Most rules in one service's rule set."
    )
    ruleset_deploys_per_hour: int = _number(
        20, 1, about="Rule sets one service may send to deploy an hour (refused ones count)."
    )
    ruleset_compile_memory_bytes: int = _number(
        1024 * 1024 * 1024,
        256 * 1024 * 1024,
        about="Address space (RLIMIT_AS) of the child process that checks and compiles "
        "an uploaded rule set.",
    )
    ruleset_compile_cpu_seconds: int = Field(
        default=60, ge=1, description="CPU seconds (RLIMIT_CPU) of that child process."
    )
    ruleset_compile_wall_seconds: float = Field(
        default=120.0,
        gt=0,
        description="Wall-clock seconds that child may take (it is killed after); also how "
        "long an upload waits for a free compiler.",
    )
    ruleset_compile_concurrency: int = Field(
        default=1, ge=1, le=64, description="Compiler child processes one server runs at once."
    )
    ruleset_versions_kept: int = _number(
        8,
        1,
        about="Compiled rule-set versions one server process keeps in memory (the least "
        "recently used is dropped, and loaded again from the cache when needed).",
    )
    screening_max_findings: int = _number(
        100,
        1,
        200,
        about="Findings kept (answered and stored) per screened item; past it every "
        "rule's matches are still counted and the verdict still comes from all of them.",
    )
    screening_counts_flush_seconds: float = _number(
        1.0,
        0,
        60,
        about="Counts of verdicts that store nothing (clean, gated) are kept in memory and "
        "written this often, and at shutdown; a crashed process loses at most this long of "
        "its own such counts (0: write each count at once, exact but one write a request).",
    )
    banks_refresh_seconds: float = _number(
        1.0,
        0,
        3600,
        about="How often each process applies the banks' changes to the indexes it holds "
        "(a bank entry added is matched within this long, without a restart; 0: never, "
        "the indexes stay as loaded at start).",
    )
    screening_outbox_poll_seconds: float = _number(
        0.5,
        0,
        60,
        about="How long the follow-up loop (count, log entry, case of a stored verdict) "
        "sleeps when no request wakes it; it also picks up what another process or a crash "
        "left (0: no loop; a request follows up its own item after answering).",
    )
    max_request_bytes: int = _number(
        1_048_576, 1024, about="Largest request body the HTTP API accepts."
    )
    stream_batch: int = _number(
        100, 1, 10_000, about="Events `trustdesk consume` acts on in one transaction."
    )
    stream_max_in_flight: int = _number(
        1000,
        1,
        100_000,
        about="Events `trustdesk consume` holds read and unacknowledged at most; it reads "
        "no more until they are answered (and none while the database is unavailable).",
    )
    stream_claim_idle_seconds: int = _number(
        30,
        1,
        86_400,
        about="An event another consumer of the group has left unacknowledged this long "
        "is claimed (that consumer is taken for dead).",
    )
    stream_receipt_days: int = _number(
        7,
        1,
        3650,
        about="Keep the receipt of a stream event that was acted on this long: a redelivery "
        "within it is answered from the receipt, never acted on twice.",
    )
    max_batch_request_bytes: int = _number(
        16_777_216,
        1024,
        about="Largest body of `POST /v1/screen/batch` (its 1,000 items of about 16 KiB each); "
        "taken only from a caller with a valid key.",
    )

    # Media signals: the caps of trustdesk.signals.media.MediaLimits (see README).
    media_max_bytes: int = _number(256 * 2**20, 1024, about="Largest upload hashed (any kind).")
    media_max_image_bytes: int = _number(32 * 2**20, 1024, about="Largest picture decoded.")
    media_max_image_pixels: int = _number(
        40_000_000, 1, 89_478_485, about="Most pixels a picture may declare (else a bomb)."
    )
    media_min_pdq_quality: int = _number(50, 0, 100, about="Weaker PDQ hashes do not match.")
    media_video_seconds_per_frame: float = _number(1.0, 0.01, 60, about="Video frame sampling.")
    media_video_max_frames: int = _number(1800, 1, about="Most video frames hashed.")
    media_video_max_seconds: float = _number(1800.0, 1, about="Longest video accepted.")
    media_video_max_pixels: int = _number(36_000_000, 1, about="Most pixels a video frame has.")
    media_video_wall_seconds: float = _number(120.0, 1, about="Most seconds to hash a video.")

    @field_validator("forwarded_allow_ips", mode="before")
    @classmethod
    def _split_proxies(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("forwarded_allow_ips")
    @classmethod
    def _known_proxies(cls, value: list[str]) -> list[str]:
        for entry in value:
            try:
                ipaddress.ip_network(entry, strict=False)
            except ValueError:
                msg = (
                    f"TRUSTDESK_FORWARDED_ALLOW_IPS: {entry!r} is not an IP address or network "
                    "(name each proxy by address, e.g. 10.0.0.5,10.1.0.0/16)"
                )
                raise ValueError(msg) from None
        return value

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str) -> str:
        if not value.startswith(("sqlite", "postgresql")):
            msg = "TRUSTDESK_DATABASE_URL must be a sqlite:// or postgresql:// URL"
            raise ValueError(msg)
        return value

    def require_secrets(self) -> None:
        """Refuse to run outside development with a missing, placeholder or short secret."""
        if self.environment is Environment.DEVELOPMENT:
            return
        if self.secret_key.get_secret_value().strip().lower() in PLACEHOLDER_SECRETS:
            msg = (
                "TRUSTDESK_SECRET_KEY is missing or a placeholder; set it to a long random "
                "value (for example the output of `python -c 'import secrets; "
                f"print(secrets.token_urlsafe(48))'`) before running in {self.environment} mode"
            )
            raise ConfigurationError(msg)
        if len(self.secret_key.get_secret_value()) < 32:
            msg = "TRUSTDESK_SECRET_KEY must be at least 32 characters long outside development"
            raise ConfigurationError(msg)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once on first use."""
    return Settings()
