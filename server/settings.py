"""Settings: the one reader of the environment (prefix ARCHIVE_TWIN_)."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from server.services.codes import CodeScheme
from server.services.security import Brakes

PLACEHOLDER_SECRETS = frozenset({"", "change-me", "changeme", "secret", "demo",
                                 # the key earlier demos signed with, built into the code
                                 "demo-only-secret-key-not-for-real-data"})
# The demo's own key lives in its data dir (see server.cli.cmd_demo), never in the code.
DEMO_KEY_FILE = "demo-secret-key"


class UnsafeSettings(ValueError):
    """Settings that must not be used to serve real data."""


class Settings(BaseSettings):
    """Everything configurable, read from ARCHIVE_TWIN_* variables."""

    model_config = SettingsConfigDict(env_prefix="ARCHIVE_TWIN_", extra="ignore")

    data_dir: Path = Path("./var")
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL; unset: a SQLite file under data_dir"
    )
    mqtt_url: str | None = Field(
        default=None, description="mqtt://[user:password@]host:port; unset: embedded broker"
    )
    mqtt_topic_root: str = "archive/v1"
    mqtt_client_id: str = "archive-twin-server"
    mqtt_shared_group: str | None = None
    base_url: str = "http://127.0.0.1:8000"
    epc_company_prefix: str = "0614141"
    site_number: int = Field(default=1, ge=0)
    secret_key: str = "change-me"
    token_ttl_minutes: int = Field(default=480, gt=0)
    demo: bool = False
    upload_max_bytes: int = Field(default=512 * 1024 * 1024, gt=0)
    copies_dir: Path | None = None
    # --- archival description (DA/T 70 four-property check) ---
    clamd: str | None = Field(
        default=None, description="ClamAV's clamd: a Unix socket path or HOST:PORT; unset, the "
        "virus scan of a four-property check says not_checked",
    )
    allowed_formats: list[str] = Field(
        default_factory=lambda: ["PDF", "OFD", "TIFF", "JPEG", "PNG", "XML", "plain text"],
        description="formats a four-property check accepts as archival (GB/T 18894, DA/T 47)",
    )
    devices_enabled: bool = Field(
        default=True, description="start the broker link, ingest and scheduled jobs with the app"
    )
    simulate: bool = False
    serial_devices: list[str] = Field(
        default_factory=list,
        description='serial devices as "KIND:DEVICE_ID:PORT" (KIND scanner, rfid or climate), '
        'e.g. ["scanner:hh-01:/dev/ttyUSB0"]',
    )
    timezone: str = Field(
        default="Asia/Shanghai",
        description="the archive's IANA time zone: pages show dates and times in it",
    )
    missing_after_s: int = Field(
        default=600, gt=0, description="a shelved box its reader has not heard for this long is missing"
    )
    jobs_enabled: bool = Field(
        default=True, description="run the scheduled jobs (fixity, ...) when devices are enabled"
    )
    duplicate_window_s: int = Field(
        default=24 * 3600, gt=0,
        description="a device message whose (device, seq, ts) was taken in this recently is a "
        "duplicate",
    )
    device_clock_ahead_s: float = Field(
        default=300, ge=0,
        description="a device ts more than this far ahead of the server clock is rejected",
    )
    news_keep_hours: float = Field(
        default=24, gt=0, description="delivered news is kept this long for pages that resume",
    )
    mqtt_receive_maximum: int = Field(
        default=4000, ge=1, le=65535,
        description="how many device messages the broker may hand us before we acknowledge "
        "(MQTT v5 Receive Maximum)",
    )
    fixity_interval_hours: float = Field(
        default=24.0, gt=0, description="how often stored copies are re-hashed"
    )
    # --- climate: profiles, alarms, roll-ups, e-mail ---
    climate_default_profile: str = Field(
        default="paper", description="the profile a room keeps until one is chosen for it")
    climate_stale_s: float = Field(
        default=900, gt=0,
        description="a sensor's latest reading older than this no longer counts for its room")
    climate_disagreement_c: float = Field(
        default=2.0, gt=0, description="sensors of one room further apart than this disagree")
    climate_disagreement_pct: float = Field(
        default=8.0, gt=0, description="sensors of one room further apart than this disagree")
    climate_raw_keep_days: float = Field(
        default=400, gt=0, description="raw readings are kept this long; roll-ups for good")
    climate_rollup_minutes: float = Field(
        default=10, gt=0, description="how often the hourly and daily roll-ups are brought up to date")
    smtp_url: str | None = Field(
        default=None, description="smtp://host:port; unset: no e-mail is sent")
    mail_from: str = "archive-twin@localhost"
    alarm_mail_to: list[str] = Field(
        default_factory=list, description="who is told of every alarm change by e-mail")

    # --- lending (issue 10) ---
    loan_reading_room_days: int = Field(
        default=0, ge=0, description="a reading-room loan is due back this many days on (0: same day)"
    )
    loan_take_away_days: int = Field(
        default=14, ge=1, description="a take-away loan is due back this many days on"
    )
    loan_renewals: int = Field(default=1, ge=0, description="how many times a loan may be renewed")
    loan_renewal_days: int = Field(default=14, ge=1, description="a renewal adds this many days")
    loan_reminder_days: list[int] = Field(
        default_factory=lambda: [0, 3, 7],
        description="reminder stages: days after the due day (0: on the due day), each sent once",
    )
    loan_reminder_hour: int = Field(
        default=8, ge=0, le=23, description="the UTC hour the daily overdue job runs"
    )
    lending_light_seconds: int = Field(
        default=120, ge=1, le=3600, description="how long a pick or return light stays on"
    )
    # e-mail for reminders: smtp_url and mail_from, with the alarms' (one block above)
    # --- lending: time-limited download access (issue 10) ---
    download_grant_days: int = Field(
        default=7, ge=1, le=365,
        description="an approved download request lets its borrower download the records' "
                    "copies for this many days",
    )

    @field_validator("loan_reminder_days")
    @classmethod
    def _stages_ascending(cls, value: list[int]) -> list[int]:
        if any(day < 0 for day in value) or sorted(set(value)) != value:
            raise ValueError("reminder days are ascending, distinct and not negative, e.g. [0, 3, 7]")
        return value

    # --- security: sign-in brakes, headers and limits, backups ---
    sign_in_free_failures: int = Field(
        default=5, ge=1, description="failed sign-ins per username before they are braked")
    sign_in_free_failures_per_address: int = Field(
        default=20, ge=1, description="failed sign-ins per client address before it is braked")
    sign_in_first_block_s: float = Field(
        default=2.0, gt=0, description="the first block after the free failures; each further "
        "failure doubles it")
    sign_in_longest_block_s: float = Field(default=900.0, gt=0)
    sign_in_parallel_hashes: int = Field(
        default=1, ge=1, description="passwords hashed at once per worker (argon2 is CPU-heavy)")
    upload_read_timeout_s: float = Field(
        default=30.0, gt=0, description="a request body that sends nothing for this long is "
        "refused (slow uploads are not held open)")
    backup_dir: Path | None = Field(default=None, description="unset: data_dir/backups")
    backup_interval_hours: float = Field(
        default=0, ge=0, description="how often the leader takes a backup; 0: never")
    backup_keep: int = Field(default=7, ge=1, description="backups kept; older ones are removed")

    @property
    def sign_in_brakes(self) -> Brakes:
        """The sign-in brakes these settings describe."""
        return Brakes(free_per_user=self.sign_in_free_failures,
                      free_per_address=self.sign_in_free_failures_per_address,
                      first_block_s=self.sign_in_first_block_s,
                      longest_block_s=self.sign_in_longest_block_s)

    @property
    def backups_path(self) -> Path:
        """Where backups are written."""
        return self.backup_dir or self.data_dir / "backups"

    @field_validator("epc_company_prefix")
    @classmethod
    def _prefix_is_gs1(cls, value: str) -> str:
        value = value.strip()
        if not (value.isdigit() and 6 <= len(value) <= 12):
            raise ValueError("a GS1 company prefix is 6 to 12 digits, e.g. 0614141")
        return value

    @field_validator("timezone")
    @classmethod
    def _zone_exists(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{value!r} is not an IANA time zone, e.g. Asia/Shanghai") from None
        return value

    @field_validator("base_url")
    @classmethod
    def _base_url_without_slash(cls, value: str) -> str:
        return value.rstrip("/")

    @cached_property
    def db_url(self) -> str:
        """The database URL in force (the SQLite default lives under data_dir)."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'archive-twin.sqlite3').resolve()}"

    @property
    def code_scheme(self) -> CodeScheme:
        """The organisation's code scheme (company prefix, site, QR base): the one place it is made."""
        return CodeScheme(company_prefix=self.epc_company_prefix, site_number=self.site_number,
                          base_url=self.base_url)

    @property
    def copies_path(self) -> Path:
        """Where electronic copies are stored, content-addressed."""
        return self.copies_dir or self.data_dir / "copies"

    def check_safe_to_serve(self) -> None:
        """Refuse a placeholder, short or demo secret key, whatever else the settings say.

        ARCHIVE_TWIN_DEMO=1 changes nothing here: only `archive-twin demo` runs on its own key.
        """
        key = self.secret_key.strip()
        if key.lower() in PLACEHOLDER_SECRETS or len(key) < 32:
            raise UnsafeSettings(
                "ARCHIVE_TWIN_SECRET_KEY is a placeholder or shorter than 32 characters "
                "(sign-in tokens are HS256: a 256-bit key); set a long random value (e.g. `python -c 'import secrets; "
                "print(secrets.token_urlsafe(32))'`) or run `archive-twin demo`."
            )
        demo_key = self.data_dir / DEMO_KEY_FILE
        if demo_key.exists() and demo_key.read_text(encoding="utf-8").strip() == key:
            raise UnsafeSettings(
                f"ARCHIVE_TWIN_SECRET_KEY is the demo's key ({demo_key}); the demo's tokens "
                "must not open a real server: set a long random key of its own."
            )
