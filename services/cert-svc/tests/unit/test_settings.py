import pytest

from as2bus.cert.settings import CertSettings


def test_policy_settings_are_read_from_their_documented_variables(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AS2BUS_CERT_EXPIRY_THRESHOLDS_DAYS", "[60, 10]")
    monkeypatch.setenv("AS2BUS_CERT_SWITCHOVER_DAYS", "2.5")
    monkeypatch.setenv("AS2BUS_CERT_MIN_KEY_BITS", "3072")
    monkeypatch.setenv("AS2BUS_HTTP_PORT", "9999")
    settings = CertSettings()
    assert settings.expiry_thresholds_days == [60, 10]
    assert settings.switchover_days == 2.5
    assert settings.min_key_bits == 3072
    assert settings.http_port == 9999


def test_defaults() -> None:
    settings = CertSettings()
    assert settings.expiry_thresholds_days == [30, 14, 7, 1]
    assert settings.http_port == 8082
