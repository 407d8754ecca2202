"""Settings: read from TRUSTDESK_ variables, fail closed outside development."""

from __future__ import annotations

import pytest
from pydantic import SecretStr, ValidationError

from trustdesk.errors import ConfigurationError
from trustdesk.settings import DEFAULT_DATABASE_URL, Environment, Settings


def test_defaults_run_on_embedded_sqlite(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("TRUSTDESK_DATABASE_URL", "TRUSTDESK_ENVIRONMENT", "TRUSTDESK_SECRET_KEY"):
        monkeypatch.delenv(name, raising=False)
    settings = Settings(_env_file=None)
    assert settings.database_url == DEFAULT_DATABASE_URL
    assert settings.environment is Environment.DEVELOPMENT
    settings.require_secrets()  # placeholders are fine in development


def test_environment_variables_are_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRUSTDESK_DATABASE_URL", "postgresql://td@db.example/td")
    monkeypatch.setenv("TRUSTDESK_PORT", "9000")
    monkeypatch.setenv("TRUSTDESK_PACK_DIRS", '["/srv/packs"]')
    settings = Settings(_env_file=None)
    assert settings.database_url == "postgresql://td@db.example/td"
    assert settings.port == 9000
    assert [str(p) for p in settings.pack_dirs] == ["/srv/packs"]


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("TRUSTDESK_DATABASE_URL", "mysql://x/y"),
        ("TRUSTDESK_PORT", "0"),
        ("TRUSTDESK_PORT", "http"),
        ("TRUSTDESK_ENVIRONMENT", "staging"),
        ("TRUSTDESK_MAX_REQUEST_BYTES", "10"),
    ],
)
def test_bad_values_are_refused(monkeypatch: pytest.MonkeyPatch, name: str, value: str) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError):
        Settings(_env_file=None)


@pytest.mark.parametrize("environment", [Environment.PRODUCTION, Environment.TEST])
@pytest.mark.parametrize("secret", ["", "change-me", "development-only", "short-not-placeholder"])
def test_outside_development_missing_placeholder_or_short_secrets_are_refused(
    environment: Environment, secret: str
) -> None:
    settings = Settings(_env_file=None, environment=environment, secret_key=SecretStr(secret))
    with pytest.raises(ConfigurationError, match="TRUSTDESK_SECRET_KEY"):
        settings.require_secrets()


def test_production_accepts_a_real_secret() -> None:
    settings = Settings(
        _env_file=None, environment=Environment.PRODUCTION, secret_key=SecretStr("k" * 48)
    )
    settings.require_secrets()
    assert "k" * 48 not in repr(settings)


def test_forwarded_allow_ips_take_a_comma_list_of_addresses_and_networks() -> None:
    settings = Settings(_env_file=None, forwarded_allow_ips="10.0.0.5, 10.1.0.0/16,::1")  # type: ignore[arg-type]
    assert settings.forwarded_allow_ips == ["10.0.0.5", "10.1.0.0/16", "::1"]
    assert Settings(_env_file=None).forwarded_allow_ips == []
    with pytest.raises(ValidationError, match=r"proxy\.example"):
        Settings(_env_file=None, forwarded_allow_ips="proxy.example")  # type: ignore[arg-type]
