"""One settings object for every part of the provisioner.

Values come from a TOML file (``--config`` or ``PROVISIONER_CONFIG``) and from
environment variables ``PROVISIONER_<SECTION>__<KEY>``, which win over the file.
Secrets are never values here: settings name the files that hold them.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from .errors import ConfigError

DEFAULT_QUERIES = {
    "schools": "SELECT id, rspo, name FROM schools",
    "classes": "SELECT id, school_id, code FROM classes",
    "pupils": (
        "SELECT id, class_id, pesel, first_name, second_name, last_name, email, left_on,"
        " modified_at FROM pupils"
    ),
    "guardians": "SELECT id, pesel, first_name, last_name, email, modified_at FROM guardians",
    "pupil_guardians": "SELECT pupil_id, guardian_id, relation FROM pupil_guardians",
}


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SourceSettings(Section):
    url: str = Field(
        "sqlite:///uonet.sqlite",
        description="SQLAlchemy URL of the UONET source (views with the reference schema).",
    )
    queries: dict[str, str] = Field(
        default_factory=lambda: dict(DEFAULT_QUERIES),
        description="SQL per reference table (schools, classes, pupils, guardians,"
        " pupil_guardians), each returning the reference columns. Missing keys use the"
        " reference tables.",
    )


class LdapSettings(Section):
    url: str = Field(description="Directory URL, ldap://host:port or ldaps://host:port.")
    bind_dn: str = Field(description="DN of the provisioner's service account.")
    bind_password_file: Path = Field(description="File holding the service account password.")
    base_dn: str = Field(description="Base DN; people and groups go in OUs under it.")
    people_ou: str = Field("people", description="OU of the accounts, under base_dn.")
    groups_ou: str = Field("groups", description="OU of the groups, under base_dn.")
    timeout: float = Field(30.0, description="Connect and per-request timeout, seconds.")
    page_size: int = Field(10000, description=(
        "Entries per page when reading the directory. Entries are processed as they arrive,"
        " so a large page costs no memory; each page costs a round trip (1 000 was 10 %"
        " slower than 10 000 on 200 000 entries)."))


class IdentitySettings(Section):
    pesel_key_file: Path = Field(
        description="File holding the secret key of the PESEL HMAC (at least 32 bytes)."
        " Changing it orphans every account: keep it backed up."
    )
    login_template: str = Field(
        "{first_name}.{last_name}",
        description="Login pattern; fields {first_name} and {last_name}, transliterated.",
    )
    login_max_length: int = Field(32, ge=8, le=64, description="Longest login, characters.")


class StateSettings(Section):
    url: str = Field(
        "sqlite:///provisioner-state.sqlite",
        description="SQLAlchemy URL of the state database (journal, outbox, tokens).",
    )
    lock_file: Path = Field(
        Path("provisioner.lock"),
        description="Lock file that lets one sync run at a time on this host.",
    )


class LifecycleSettings(Section):
    grace_days: int = Field(
        180, ge=0, description="Days a disabled account is kept before deletion."
    )
    delete: bool = Field(True, description="Delete accounts after the grace period.")
    max_disables: int = Field(
        50, ge=0, description="Most disables plus deletions one run may apply (count)."
    )
    max_disable_ratio: float = Field(
        0.10, ge=0, le=1, description="Most disables plus deletions one run may apply,"
        " as a share of managed accounts (0.10 = 10 %)."
    )


class DaemonSettings(Section):
    cron: str = Field(
        "", description="Cron expression (minute hour day month weekday, local time) of the"
        " scheduled runs of `provisioner daemon`; empty (the default): every `interval` seconds."
    )
    interval: float = Field(
        900.0, gt=0, description="Seconds between scheduled runs when `cron` is empty"
        " (default 900 = 15 minutes)."
    )
    run_at_start: bool = Field(True, description="Run once as soon as the daemon starts (default true).")
    retry_min: float = Field(
        30.0, gt=0, description="Seconds before the first retry of a failed run (source or"
        " directory down); each further failure doubles it (default 30)."
    )
    retry_max: float = Field(
        900.0, gt=0, description="Longest wait between retries of failed runs, seconds (default 900)."
    )
    control_socket: str = Field(
        "", description="Unix socket where `provisioner sync --now` asks the daemon for a run;"
        " empty (the default): control.sock next to state.lock_file."
    )
    pid_file: str = Field("", description="File the daemon writes its pid to; empty (default): none.")
    metrics_port: int = Field(
        0, ge=0, le=65535, description="Port on 127.0.0.1 serving Prometheus metrics at /metrics;"
        " 0 (the default): off."
    )
    metrics_textfile: str = Field(
        "", description="File the daemon rewrites with its metrics after every run, for"
        " node_exporter's textfile collector (name it *.prom); empty (default): none."
    )
    stop_timeout: float = Field(
        300.0, gt=0, description="Seconds SIGTERM waits for the run in flight to finish before"
        " the daemon exits anyway (default 300)."
    )
    request_timeout: float = Field(
        3600.0, gt=0, description="Seconds `provisioner sync --now` waits for its run's result"
        " (default 3600)."
    )

    @field_validator("cron")
    @classmethod
    def _valid_cron(cls, value: str) -> str:
        if value.strip():
            from apscheduler.triggers.cron import CronTrigger  # only the daemon needs it

            CronTrigger.from_crontab(value)  # its ValueError names the bad field
        return value.strip()


LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "::1")


class MailSettings(Section):
    smtp_host: str = Field(
        "", description="SMTP server that sends the notices; empty (the default): no sending,"
        " each notice is written as an .eml file to `outbox_dir` instead."
    )
    smtp_port: int = Field(
        587, ge=1, le=65535, description="SMTP port (default 587, submission with STARTTLS;"
        " 465 with smtp_tls = \"tls\")."
    )
    smtp_tls: str = Field(
        "starttls", description="\"starttls\" (default), \"tls\" (implicit TLS) or \"none\";"
        " \"none\" is accepted only for a loopback smtp_host."
    )
    smtp_user: str = Field("", description="SMTP login; empty (the default): no authentication.")
    smtp_password_file: str = Field(
        "", description="File holding the SMTP password (needed with smtp_user; empty, the default: none)."
    )
    smtp_timeout: float = Field(
        30.0, gt=0, description="SMTP connect and command timeout, seconds (default 30).")
    sender: str = Field(
        "provisioner@localhost", description="From: address of the notices"
        " (default provisioner@localhost), e.g. \"Szkoła <konta@szkola.edu.pl>\"."
    )
    outbox_dir: Path = Field(
        Path("outbox"), description="Folder the notices are written to as .eml files when"
        " smtp_host is empty (default ./outbox)."
    )
    language: str = Field("pl", description="Language of the notices: \"pl\" (default) or \"en\".")
    template_dir: str = Field(
        "", description="Folder whose templates override the bundled ones (same names, e.g."
        " activation.pl.txt); empty (the default): none."
    )
    max_attempts: int = Field(
        8, ge=1, description="Sending attempts of one notice before it is recorded as failed (default 8)."
    )
    retry_min: float = Field(
        60.0, gt=0, description="Seconds before the first retry of a notice the server did not"
        " accept; doubled on each further failure (default 60)."
    )
    retry_max: float = Field(
        3600.0, gt=0, description="Longest wait between retries of one notice, seconds (default 3600)."
    )

    @field_validator("language")
    @classmethod
    def _known_language(cls, value: str) -> str:
        if value not in ("pl", "en"):
            raise ValueError('must be "pl" or "en"')
        return value

    @field_validator("smtp_tls")
    @classmethod
    def _tls_mode(cls, value: str, info) -> str:
        if value not in ("starttls", "tls", "none"):
            raise ValueError('must be "starttls", "tls" or "none"')
        host = (info.data.get("smtp_host") or "").strip("[]")
        if value == "none" and host and host not in LOOPBACK_HOSTS and not host.startswith("127."):
            raise ValueError(f'"none" (no encryption) is allowed only for a loopback smtp_host,'
                             f' not {host}; use "starttls" or "tls"')
        return value


class WebSettings(Section):
    base_url: str = Field(
        "http://127.0.0.1:8080", description="Public address of the access page; the links in"
        " e-mails point under it (default http://127.0.0.1:8080)."
    )
    secret_file: str = Field(
        "", description="File holding the key (at least 32 bytes) that signs the forms' CSRF"
        " tokens and keys the rate limits; empty (the default): a random key per process."
    )
    activation_days: float = Field(
        14.0, gt=0, description="Days an activation link (sent after an account is created) is"
        " valid (default 14)."
    )
    link_minutes: float = Field(
        60.0, gt=0, description="Minutes a link requested on the access page is valid (default 60)."
    )
    rate_window: float = Field(
        3600.0, gt=0, description="Window of the access page's rate limits, seconds (default 3600)."
    )
    rate_per_client: int = Field(
        20, ge=1, description="Access requests one client address may make per window (default 20)."
    )
    rate_per_identifier: int = Field(
        3, ge=1, description="Access requests for one PESEL or e-mail per window (default 3)."
    )
    min_response: float = Field(
        0.8, ge=0, description="Seconds an access request takes at least, whatever was entered,"
        " so timing reveals nothing (default 0.8)."
    )
    password_min_length: int = Field(
        12, ge=8, description="Shortest password allowed, characters (default 12).")
    password_check_common: bool = Field(
        True, description="Refuse passwords in the bundled list of common passwords (default true)."
    )
    language: str = Field(
        "pl", description="Page language when the browser asks for neither: \"pl\" (default) or \"en\"."
    )
    trusted_proxy: bool = Field(
        False, description="Take the client address from X-Forwarded-For (only behind your own"
        " reverse proxy; default false)."
    )

    @field_validator("language")
    @classmethod
    def _known_language(cls, value: str) -> str:
        if value not in ("pl", "en"):
            raise ValueError('must be "pl" or "en"')
        return value

    @field_validator("base_url")
    @classmethod
    def _url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with https:// (or http:// for a test)")
        return value.rstrip("/")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="PROVISIONER_", env_nested_delimiter="__", extra="forbid"
    )

    source: SourceSettings = Field(default_factory=SourceSettings)
    # Optional here so that verbs which never touch the directory (report, status,
    # history) run without them; ``check`` makes them required where they are used.
    ldap: LdapSettings | None = None
    identity: IdentitySettings | None = None
    state: StateSettings = Field(default_factory=StateSettings)
    lifecycle: LifecycleSettings = Field(default_factory=LifecycleSettings)
    daemon: DaemonSettings = Field(default_factory=DaemonSettings)
    mail: MailSettings = Field(default_factory=MailSettings)
    web: WebSettings = Field(default_factory=WebSettings)

    @classmethod
    def settings_customise_sources(cls, settings_cls, init_settings, env_settings, **_):
        # The TOML file arrives as init values; environment variables win over it.
        return env_settings, init_settings

    def check(self, *sections: str) -> Settings:
        """Raise one ``ConfigError`` naming the first required section that is missing."""
        for name in sections:
            if getattr(self, name) is None:
                model = type(self).model_fields[name].annotation.__args__[0]
                first = next(k for k, f in model.model_fields.items() if f.is_required())
                env = f"PROVISIONER_{name.upper()}__{first.upper()}"
                raise ConfigError(f"setting {name}.{first} ({env}): field required")
        return self

    def smtp_password(self) -> str | None:
        path = self.mail.smtp_password_file
        return read_secret(Path(path), "mail.smtp_password_file") if path else None

    def web_secret(self) -> bytes | None:
        path = self.web.secret_file
        if not path:
            return None
        key = read_secret(Path(path), "web.secret_file").encode()
        if len(key) < 32:
            raise ConfigError(f"web.secret_file: {path} holds {len(key)} bytes, at least 32 are needed")
        return key

    def query(self, table: str) -> str:
        return self.source.queries.get(table) or DEFAULT_QUERIES[table]

    def bind_password(self) -> str:
        self.check("ldap")
        return read_secret(self.ldap.bind_password_file, "ldap.bind_password_file")

    def pesel_key(self) -> bytes:
        self.check("identity")
        key = read_secret(self.identity.pesel_key_file, "identity.pesel_key_file").encode()
        if len(key) < 32:
            raise ConfigError(
                f"identity.pesel_key_file: {self.identity.pesel_key_file} holds"
                f" {len(key)} bytes, at least 32 are needed"
            )
        return key


def credential_path(path: Path) -> Path:
    """A relative secret path is looked up in systemd's $CREDENTIALS_DIRECTORY first."""
    creds = os.environ.get("CREDENTIALS_DIRECTORY")
    if creds and not path.is_absolute() and (Path(creds) / path).exists():
        return Path(creds) / path
    return path


def read_secret(path: Path, name: str) -> str:
    try:
        return credential_path(path).read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ConfigError(f"{name}: cannot read {path}: {exc.strerror}") from exc


def load(path: str | os.PathLike | None = None) -> Settings:
    """Settings from the TOML file (if any) and the environment, or one ``ConfigError``."""
    path = path or os.environ.get("PROVISIONER_CONFIG")
    data: dict = {}
    if path:
        try:
            with open(path, "rb") as fh:
                data = tomllib.load(fh)
        except OSError as exc:
            raise ConfigError(f"config file {path}: {exc.strerror}") from exc
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"config file {path}: {exc}") from exc
    try:
        return Settings(**data)
    except ValidationError as exc:
        raise ConfigError(describe(exc)) from exc


def describe(exc: ValidationError) -> str:
    """First validation problem as one line naming the key and its variable."""
    err = exc.errors()[0]
    loc = [str(p) for p in err["loc"]]
    key = ".".join(loc)
    env = "PROVISIONER_" + "__".join(p.upper() for p in loc)
    more = f" (and {len(exc.errors()) - 1} more)" if len(exc.errors()) > 1 else ""
    return f"setting {key} ({env}): {err['msg'].lower()}{more}"
