"""Settings from environment variables, built once at start-up by the entrypoint (never at import)."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Annotated, Literal, Self
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


class Settings(BaseSettings):
    """Every knob Custos reads from its environment (prefix ``CUSTOS_``)."""

    model_config = SettingsConfigDict(env_prefix="CUSTOS_", extra="forbid")

    data_dir: Path = Field(
        default=Path("data"), description="Where the embedded database and keys live"
    )
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL; default: SQLite (WAL) in the data directory"
    )
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=1, le=65535)
    token_ttl_minutes: int = Field(default=480, ge=1, le=7 * 24 * 60)
    lockout_threshold: int = Field(default=5, ge=1, le=100)
    lockout_window_minutes: int = Field(default=15, ge=1)
    lockout_minutes: int = Field(default=15, ge=1)
    log_level: str = "INFO"
    audit_checkpoint_every: int = Field(
        default=1000, ge=1, description="Sign an operation-log checkpoint every N entries"
    )
    audit_checkpoint_seconds: float = Field(
        default=60.0, gt=0, description="…or once this many seconds have passed since the last"
    )
    audit_witness_dir: Path | None = Field(
        default=None,
        description="Where each signed checkpoint of the operation log is appended "
        "(audit-checkpoints.jsonl), outside the database; best on another machine's mount or "
        "a WORM volume; default: <data_dir>/witness (docs/design/evidence.md)",
    )
    audit_witness_objectstore: bool = Field(
        default=True,
        description="Also put each checkpoint in the object store (under Object Lock) when one "
        "is configured",
    )
    audit_witness_url: str | None = Field(
        default=None,
        description="The supervising bureau's Custos (base URL, http or https, no password in "
        "it): each signed checkpoint is also handed to it, and 'custos audit verify --witness "
        "URL' reads them back (docs/design/evidence.md, 'The bureau as a witness')",
    )
    audit_witness_ca_file: Path | None = Field(
        default=None,
        description="CA certificates (PEM) to verify the bureau's TLS certificate by, when its "
        "CA is not in the system's store; certificates are always verified",
    )
    audit_tsa_url: SecretStr | None = Field(
        default=None,
        description="An RFC 3161 time-stamp authority (http or https URL; a user name and "
        "password in it are sent as basic authentication, never logged): each signed checkpoint "
        "is also stamped, the token kept in <audit_witness_dir>/time-stamps "
        "(docs/design/evidence.md, 'A time-stamp authority as a witness')",
    )
    audit_tsa_cert: Path | None = Field(
        default=None,
        description="The TSA's CA certificate(s) (PEM): tokens are checked against it as they "
        "arrive, and 'custos audit verify --witness <store>' checks them with it",
    )
    media_dir: Path | None = Field(
        default=None, description="Where recorded segments live; default: <data_dir>/media"
    )
    media_volumes: Annotated[list[Path], NoDecode] = Field(
        default_factory=list,
        description="More volumes for segments, comma-separated, in the order they are filled "
        "after the media directory (volume 0); a segment's path names its volume ('@v1/…')",
    )
    segment_seconds: int = Field(default=60, ge=10, le=300, description="Segment length")
    recorder_engine: Literal["pyav", "ffmpeg"] = Field(
        default="pyav",
        description="How cameras are recorded: PyAV in recording shards of "
        "recorder_shard_cameras cameras each, or one ffmpeg process per camera "
        "(docs/design/recording.md)",
    )
    recorder_shard_cameras: int = Field(
        default=25, ge=1, le=400, description="Cameras per recording shard (engine pyav)"
    )
    live_transcodes: int = Field(
        default=2,
        ge=0,
        le=32,
        description="H.265 live views transcoded to H.264 at once for browsers without H.265 "
        "(one ffmpeg child each, docs/design/live.md); one more is refused on its tile",
    )
    recorder_metrics_host: str = "127.0.0.1"
    recorder_metrics_port: int = Field(
        default=9464, ge=0, le=65535, description="Prometheus /metrics of the recorder; 0: off"
    )
    database_idle_transaction_s: int | None = Field(
        default=None,
        ge=5,
        le=3600,
        description="PostgreSQL ends a session idle inside a transaction this long (its locks "
        "freed): a recorder node sets 20 s, so a node cut off mid-seal cannot hold a camera's "
        "lease row and stop its failover (docs/design/cluster.md)",
    )
    cluster_secret: SecretStr | None = Field(
        default=None,
        repr=False,
        min_length=32,
        max_length=256,
        description="Shared by every server of a cluster: signs the requests between them (a "
        "recorder node's live view and footage for the API servers); unset: a node serves none",
    )

    retention_max_days: int | None = Field(
        default=None,
        ge=1,
        description="Optional cap on a camera's configured retention (Decree 799 art. 17); "
        "never below the rule packs' floor",
    )

    # ---- object storage (S3-compatible, e.g. SeaweedFS); off while s3_endpoint is unset ----
    s3_endpoint: str | None = Field(
        default=None, description="S3 endpoint URL, e.g. http://127.0.0.1:8333; unset: no offload"
    )
    s3_bucket: str = Field(default="custos-segments", min_length=3, max_length=63)
    s3_access_key: str | None = None
    s3_secret_key: SecretStr | None = Field(default=None, repr=False)
    s3_region: str = "us-east-1"
    s3_prefix: str = Field(
        default="", max_length=200, description="Key prefix, e.g. 'site-a/', to share a bucket"
    )
    s3_lock_mode: Literal["COMPLIANCE", "GOVERNANCE"] = Field(
        default="COMPLIANCE", description="Object Lock mode for uploaded segments"
    )
    s3_lock_days: int = Field(
        default=30,
        ge=0,
        le=3650,
        description="Object Lock retention from a segment's start (0: no lock); the purge can"
        " delete an object only after it",
    )
    s3_offload_every_s: float = Field(
        default=10.0, gt=0, description="How often the offloader looks for sealed segments"
    )
    s3_timeout_s: float = Field(
        default=60.0, gt=0, le=600, description="How long one S3 request may wait for an answer"
    )
    s3_master_url: str | None = Field(
        default=None,
        max_length=200,
        pattern=r"^https?://[^\s/]+/?$",
        description="The SeaweedFS master (http://host:port), for custos check's replication"
        " report; unset: not checked",
    )
    diagnosis_every_s: int = Field(
        default=30,
        ge=5,
        le=86400,
        description="Video quality diagnosis samples each recording camera at most this often"
        " (one keyframe of its newest sealed segment; issue 14 §2)",
    )
    camera_offline_grace_s: int = Field(
        default=60,
        ge=1,
        le=3600,
        description="A camera that should record and has not recorded for this long raises"
        " camera_offline (issue 14)",
    )
    # ONVIF (issue 14 §3)
    clock_drift_limit_s: float = Field(
        default=2.0,
        gt=0,
        le=3600,
        description="A camera clock further than this from the server's raises clock_drift",
    )
    onvif_timeout_s: float = Field(
        default=10.0, gt=0, le=120, description="An ONVIF request's time-out, connect included"
    )

    # alarm delivery (issue 14 §1): the notifier's tick, retries, escalation
    notify_every_s: float = Field(
        default=1.0, gt=0, le=60, description="How often the notifier sends due deliveries"
    )
    notify_retry_first_s: float = Field(
        default=10.0, gt=0, le=3600, description="The first retry's wait; each next one doubles"
    )
    notify_max_tries: int = Field(default=5, ge=1, le=20, description="Tries per delivery")
    notify_timeout_s: float = Field(
        default=10.0, gt=0, le=120, description="A channel's connect and read time-out"
    )
    alarm_escalate_after_s: int = Field(
        default=300,
        ge=10,
        le=86400,
        description="An open alarm nobody acknowledged within this goes to the next rota level",
    )

    # GB/T 28181 (issue 12 §1): Custos as the SIP server of its domain
    gb_enabled: bool = Field(
        default=False, description="Listen for GB/T 28181 devices (SIP) in `custos serve`"
    )
    gb_platform_id: str = Field(
        default="34020000002000000001",
        min_length=20,
        max_length=20,
        description="This platform's 20-digit GB/T 28181 ID; its first 10 digits are the domain",
    )
    gb_domain: str | None = Field(
        default=None,
        min_length=10,
        max_length=10,
        description="The SIP domain (realm); must be the platform ID's first 10 digits",
    )
    gb_sip_host: str = Field(
        default="0.0.0.0",  # noqa: S104 - devices on the video network must reach it
        max_length=253,
        description="SIP listen address",
    )
    gb_sip_port: int = Field(default=5060, ge=1, le=65535, description="SIP port (UDP and TCP)")
    gb_sip_transports: Literal["udp", "tcp", "udp+tcp"] = Field(
        default="udp+tcp", description="Which SIP transports to listen on"
    )
    gb_keepalive_interval_s: int = Field(
        default=60,
        ge=1,
        le=3600,
        description="The keepalive interval devices are expected to keep; 3 missed = offline",
    )
    gb_register_min_expires_s: int = Field(
        default=60, ge=1, le=86400, description="Shorter REGISTER expiries get 423"
    )
    gb_register_max_expires_s: int = Field(
        default=86400, ge=60, le=604800, description="Longer REGISTER expiries are cut to this"
    )
    gb_max_message_bytes: int = Field(
        default=65535, ge=1024, le=65535, description="A SIP message over this gets 513"
    )
    gb_media_host: str = Field(
        default="127.0.0.1",
        max_length=15,
        description="The recorder's IPv4 address for GB/T 28181 media: devices send RTP here",
    )
    gb_media_port_min: int = Field(
        default=30000, ge=1024, le=65535, description="First port for GB/T 28181 media"
    )
    gb_media_port_max: int = Field(
        default=30999, ge=1024, le=65535, description="Last port for GB/T 28181 media"
    )

    @field_validator("audit_tsa_url")
    @classmethod
    def _tsa_url(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            try:  # the URL itself is never quoted: it may hold a password
                parts = urlsplit(value.get_secret_value().strip())
                usable = parts.scheme in ("http", "https") and bool(parts.hostname)
            except ValueError:
                usable = False
            if not usable:
                raise ValueError("must be an http:// or https:// URL with a host")
        return value

    @field_validator("gb_platform_id", "gb_domain")
    @classmethod
    def _gb_digits(cls, value: str | None) -> str | None:
        if value is not None and not value.isdigit():
            raise ValueError("must be digits only (GB/T 28181 code)")
        return value

    @model_validator(mode="after")
    def _gb_domain_matches(self) -> Self:
        if self.gb_domain is not None and self.gb_domain != self.gb_platform_id[:10]:
            raise ValueError(
                f"gb_domain {self.gb_domain} must be the first 10 digits of gb_platform_id"
                f" ({self.gb_platform_id[:10]})"
            )
        return self

    @field_validator("gb_media_host")
    @classmethod
    def _gb_media_host(cls, value: str) -> str:
        try:
            address = ipaddress.IPv4Address(value)
        except ValueError:
            raise ValueError("must be an IPv4 address (devices send media to it)") from None
        if address.is_unspecified or address.is_multicast:
            raise ValueError("must be an address a device can reach, not 0.0.0.0 or multicast")
        return value

    @model_validator(mode="after")
    def _gb_media_ports(self) -> Self:
        if self.gb_media_port_min > self.gb_media_port_max:
            raise ValueError("gb_media_port_min must not be above gb_media_port_max")
        return self

    def resolved_gb_domain(self) -> str:
        return self.gb_domain or self.gb_platform_id[:10]

    @field_validator("media_volumes", mode="before")
    @classmethod
    def _split_volumes(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    def object_store_enabled(self) -> bool:
        return bool(self.s3_endpoint)

    def resolved_audit_witness_dir(self) -> Path:
        return self.audit_witness_dir or self.data_dir / "witness"

    def resolved_live_dir(self) -> Path:
        """Where the recorder's live taps listen (docs/design/live.md): one socket a camera."""
        return self.data_dir / "live"

    def resolved_media_dir(self) -> Path:
        return self.media_dir if self.media_dir is not None else self.data_dir / "media"

    def resolved_media_volumes(self) -> list[Path]:
        """Every volume segments may be written to, in order: the media directory first."""
        return [self.resolved_media_dir(), *self.media_volumes]

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'custos.db').resolve()}"
