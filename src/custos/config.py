"""Settings from environment variables, built once at start-up by the entrypoint (never at import)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


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
    media_dir: Path | None = Field(
        default=None, description="Where recorded segments live; default: <data_dir>/media"
    )
    segment_seconds: int = Field(default=60, ge=10, le=300, description="Segment length")
    recorder_metrics_host: str = "127.0.0.1"
    recorder_metrics_port: int = Field(
        default=9464, ge=0, le=65535, description="Prometheus /metrics of the recorder; 0: off"
    )

    def resolved_media_dir(self) -> Path:
        return self.media_dir if self.media_dir is not None else self.data_dir / "media"

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'custos.db').resolve()}"
