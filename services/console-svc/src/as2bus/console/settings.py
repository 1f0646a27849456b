"""console-svc settings: the chassis plus the console's own (``AS2BUS_CONSOLE_*``)."""

from __future__ import annotations

from pydantic import AliasChoices, Field, SecretStr

from as2bus.shared.settings import ServiceSettings


def _env(name: str) -> AliasChoices:
    return AliasChoices(f"AS2BUS_CONSOLE_{name.upper()}")


class ConsoleSettings(ServiceSettings):
    http_port: int = Field(default=8085, ge=0, le=65535)
    database_url: str = "sqlite+aiosqlite:///var/console.db"
    config_url: str = Field(default="http://127.0.0.1:8081", validation_alias=_env("config_url"))
    cert_url: str = Field(default="http://127.0.0.1:8082", validation_alias=_env("cert_url"))
    tracklog_url: str = Field(
        default="http://127.0.0.1:8084", validation_alias=_env("tracklog_url")
    )
    outbound_url: str = Field(
        default="http://127.0.0.1:8083",
        validation_alias=_env("outbound_url"),
        description="outbound-svc, for the partners' connection tests",
    )
    notify_url: str = Field(
        default="http://127.0.0.1:8086",
        validation_alias=_env("notify_url"),
        description="notify-svc, for the open incidents, the deliveries and a channel's test",
    )
    backend_token: SecretStr | None = Field(
        default=None,
        validation_alias=_env("backend_token"),
        description="The API token the console calls the other services "
        "with (admin scope); it stays on the server, never in a page or a cookie",
    )
    cookie_secure: bool = Field(
        default=True,
        validation_alias=_env("cookie_secure"),
        description="Send the session cookie over HTTPS only (browsers also accept it from "
        "http://localhost and http://127.0.0.1)",
    )
    session_hours: float = Field(
        default=12,
        gt=0,
        validation_alias=_env("session_hours"),
        description="How long a session lasts at most, however much it is used",
    )
    session_idle_minutes: float = Field(
        default=60,
        gt=0,
        validation_alias=_env("session_idle_minutes"),
        description="A session unused this long ends (sign in again); a page that updates "
        "itself live keeps it in use",
    )
    sign_in_attempts: int = Field(
        default=5,
        ge=1,
        validation_alias=_env("sign_in_attempts"),
        description="Failed sign-ins allowed per e-mail address and client address in "
        "AS2BUS_CONSOLE_SIGN_IN_WINDOW_MINUTES; then sign-in waits for the window to pass",
    )
    sign_in_address_attempts: int = Field(
        default=50,
        ge=1,
        validation_alias=_env("sign_in_address_attempts"),
        description="Failed sign-ins allowed per client address, whatever e-mail address is "
        "typed, in AS2BUS_CONSOLE_SIGN_IN_WINDOW_MINUTES; then sign-in from that client "
        "waits for the window to pass",
    )
    sign_in_window_minutes: float = Field(
        default=15, gt=0, validation_alias=_env("sign_in_window_minutes")
    )
    trusted_proxies: list[str] = Field(
        default_factory=list,
        validation_alias=_env("trusted_proxies"),
        description="Single sign-on: addresses or networks of the authenticating proxy, JSON "
        '(["10.0.0.0/8"]). Only requests from there may sign in by header; empty: off',
    )
    user_header: str = Field(default="X-Forwarded-Email", validation_alias=_env("user_header"))
    groups_header: str = Field(default="X-Forwarded-Groups", validation_alias=_env("groups_header"))
    group_roles: dict[str, str] = Field(
        default_factory=dict,
        validation_alias=_env("group_roles"),
        description='Single sign-on: the proxy\'s groups to roles, JSON ({"as2-admins": '
        '"admin", "as2-ops": "operator"}); a person in several gets the highest',
    )
    sso_default_role: str | None = Field(
        default=None,
        validation_alias=_env("sso_default_role"),
        description="The role of a person in none of the mapped groups; unset: refused",
    )
    sso_sign_out_url: str = Field(
        default="/oauth2/sign_out",
        validation_alias=_env("sso_sign_out_url"),
        description="Where Sign out leads someone signed in by the proxy (oauth2-proxy's)",
    )
    max_upload_bytes: int = Field(
        default=500 * 1024 * 1024,
        gt=0,
        validation_alias=_env("max_upload_bytes"),
        description=(
            "The most Send File accepts, all its files together "
            "(outbound-svc's own limit applies too)"
        ),
    )
