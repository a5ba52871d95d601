"""Connection strings: parsing, Neon hosts, defaults, and a password that never shows."""

from __future__ import annotations

import pytest
from neonkit import _dsn as dsn
from neonkit._dsn import DatabaseUrl, neon_defaults, neon_host
from neonkit.errors import ConfigurationError

POOLED = "postgresql://alex:AbC123dEf@ep-cool-darkness-123456-pooler.us-east-2.aws.neon.tech/dbname?sslmode=require"
DIRECT = "postgresql://alex:AbC123dEf@ep-cool-darkness-123456.us-east-2.aws.neon.tech/dbname?sslmode=require"


def test_knows_a_pooled_neon_host_from_a_direct_one() -> None:
    pooled, direct = DatabaseUrl.parse(POOLED), DatabaseUrl.parse(DIRECT)
    assert pooled.is_neon
    assert pooled.is_neon_pooler
    assert direct.is_neon
    assert not direct.is_neon_pooler
    assert not DatabaseUrl.parse("postgresql://u:p@localhost/db").is_neon


def test_derives_either_endpoint_from_the_other() -> None:
    assert (
        DatabaseUrl.parse(POOLED).direct().host == "ep-cool-darkness-123456.us-east-2.aws.neon.tech"
    )
    assert (
        DatabaseUrl.parse(DIRECT).pooled().host
        == "ep-cool-darkness-123456-pooler.us-east-2.aws.neon.tech"
    )
    assert DatabaseUrl.parse(DIRECT).direct() == DatabaseUrl.parse(DIRECT)
    assert neon_host("ep-a-1-pooler.eu-central-1.aws.neon.tech", pooled=True) == (
        "ep-a-1-pooler.eu-central-1.aws.neon.tech"
    )


def test_deriving_from_a_host_that_is_not_neon_says_so() -> None:
    with pytest.raises(ConfigurationError, match="not a Neon endpoint host"):
        DatabaseUrl.parse("postgresql://u:p@db.example.com/x").pooled()


def test_password_never_shows_in_str_repr_or_redacted() -> None:
    url = DatabaseUrl.parse(POOLED)
    for text in (str(url), repr(url), url.redacted(), f"{url}", str([url])):
        assert "AbC123dEf" not in text
    assert "***" in str(url)
    assert "AbC123dEf" in url.conninfo()  # only what goes to libpq carries it


def test_parse_errors_never_echo_the_password() -> None:
    secret = "Sup3r-S3cret%zz"  # an invalid percent-escape inside the password
    with pytest.raises(ConfigurationError) as info:
        DatabaseUrl.parse(f"postgresql://alex:{secret}@host/db")
    assert secret not in str(info.value)
    assert "S3cret" not in str(info.value)
    assert info.value.__cause__ is None
    assert info.value.__suppress_context__


def test_key_value_strings_parse_too() -> None:
    url = DatabaseUrl.parse("host=localhost port=5433 user=app password='p w' dbname=app")
    assert url.params["port"] == "5433"
    assert url.password == "p w"
    assert "p w" not in str(url)


@pytest.mark.parametrize("bundle", ["/etc/ssl/certs/ca-certificates.crt", None])
def test_neon_hosts_get_secure_low_latency_defaults(
    bundle: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a machine with (or without) a CA bundle to verify the server's certificate
    monkeypatch.setattr(dsn, "system_ca_bundle", lambda: bundle)
    defaults = neon_defaults(DatabaseUrl.parse(DIRECT))
    assert defaults["channel_binding"] == "require"
    assert defaults["sslnegotiation"] == "direct"
    if bundle is None:
        assert defaults["sslmode"] == "require"
        assert "sslrootcert" not in defaults
    else:
        assert defaults["sslmode"] == "verify-full"
        assert defaults["sslrootcert"] == bundle
    assert neon_defaults(DatabaseUrl.parse("postgresql://u@localhost/db")) == {}


def test_the_users_own_parameters_win_over_defaults() -> None:
    url = DatabaseUrl.parse(DIRECT).with_defaults(sslmode="verify-full", connect_timeout="5")
    assert url.params["sslmode"] == "require"
    assert url.params["connect_timeout"] == "5"


def test_empty_url_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="empty"):
        DatabaseUrl.parse("  ")
