"""The only place that wires adapters into services."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Literal

from sqlalchemy import Engine

from custos.adapters.chinese_workdays import ChineseWorkdayCalendar
from custos.adapters.crypto import Argon2PasswordHasher, FernetSecretBox, load_or_create_key
from custos.adapters.db.engine import make_engine
from custos.adapters.db.uow import SqlUnitOfWorkFactory
from custos.adapters.export.package import ZipPackageBuilder
from custos.adapters.media.footage_cutter import FfmpegFootageCutter
from custos.adapters.rulepack_loader import load_rulebook
from custos.adapters.signing import TrustedKeys, load_or_create_signer
from custos.adapters.storage.documents import DocumentStore
from custos.adapters.storage.segment_files import SegmentStore
from custos.config import Settings
from custos.domain.calendar import WorkdayCalendar
from custos.domain.clock import Clock, SystemClock
from custos.domain.rules import RuleBook
from custos.services.access_requests import AccessRequestService
from custos.services.audit_log import AuditLogService, Checkpointer, CheckpointPolicy
from custos.services.auth import AuthPolicy, AuthService
from custos.services.compliance import ComplianceService
from custos.services.footage import FootageService
from custos.services.footage_import import FootageImportService
from custos.services.holds import HoldService
from custos.services.network_interruptions import NetworkInterruptionService
from custos.services.offload import OffloadService
from custos.services.recording import RecordingService
from custos.services.registry import RegistryService
from custos.services.retention import RetentionService
from custos.services.scrub import Scrubber
from custos.services.storage_watch import AlarmService, StorageWatch


@dataclass
class Container:
    settings: Settings
    engine: Engine
    uow: SqlUnitOfWorkFactory
    clock: Clock
    rules: RuleBook
    calendar: WorkdayCalendar
    auth: AuthService
    registry: RegistryService
    audit: AuditLogService
    compliance: ComplianceService
    recording: RecordingService
    footage: FootageService
    requests: AccessRequestService
    retention: RetentionService
    holds: HoldService
    alarms: AlarmService
    storage: StorageWatch
    scrubber: Scrubber
    imports: FootageImportService
    network: NetworkInterruptionService
    offload: OffloadService | None = None  # None unless an object store is configured

    def close(self) -> None:
        self.engine.dispose()


def settings_from(data_dir: Path | None = None, **overrides: object) -> Settings:
    """The settings of one run: the environment (``CUSTOS_*``), overridden by what the command
    line gave (``None``: not given). Built once per command, here and nowhere else."""
    values = {key: value for key, value in overrides.items() if value is not None}
    if data_dir is not None:
        values["data_dir"] = data_dir
    return Settings.model_validate(values)


def migrate(settings: Settings) -> None:
    """Bring the database to the latest revision (creating the data directory for SQLite)."""
    from custos.adapters.db.migrate import upgrade

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    upgrade(settings.resolved_database_url())


def schema_state(settings: Settings) -> Literal["missing", "behind", "current"]:
    """Is the database there and at the latest revision? Found without writing anything."""
    from custos.adapters.db.migrate import schema_state as state_of

    return state_of(settings.resolved_database_url())


def bootstrap(settings: Settings, clock: Clock | None = None) -> Container:
    clock = clock or SystemClock()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.resolved_database_url())
    secrets = FernetSecretBox(load_or_create_key(settings.data_dir / "keys" / "secrets.key"))
    signer = load_or_create_signer(settings.data_dir / "keys")
    checkpoint_policy = CheckpointPolicy(
        settings.audit_checkpoint_every, settings.audit_checkpoint_seconds
    )
    checkpointer = Checkpointer(signer, clock, checkpoint_policy)
    uow = SqlUnitOfWorkFactory(engine, secrets, checkpointer)
    rules = load_rulebook()
    calendar = ChineseWorkdayCalendar()
    policy = AuthPolicy(
        token_ttl=timedelta(minutes=settings.token_ttl_minutes),
        lockout_threshold=settings.lockout_threshold,
        lockout_window=timedelta(minutes=settings.lockout_window_minutes),
        lockout_duration=timedelta(minutes=settings.lockout_minutes),
    )
    trusted = TrustedKeys.of(signer.public_key)
    segment_store = SegmentStore(settings.resolved_media_dir(), settings.media_volumes)
    offload = _offload(settings, uow, clock, segment_store)
    footage = FootageService(
        uow,
        clock,
        segment_store.absolute,
        settings.data_dir / "exports",
        ZipPackageBuilder(settings.data_dir / "exports" / ".work"),
        fetch=offload.fetch if offload is not None else None,
        rules=rules,
    )
    documents = DocumentStore(settings.data_dir / "documents")
    requests = AccessRequestService(
        uow, rules, signer, trusted.verify, clock, footage, documents.put
    )
    retention = RetentionService(
        uow,
        rules,
        clock,
        segment_store,
        requests.frozen_scopes,
        settings.retention_max_days,
        delete_object=offload.delete_object if offload is not None else None,
    )
    alarms = AlarmService(uow, clock)
    return Container(
        settings=settings,
        engine=engine,
        uow=uow,
        clock=clock,
        rules=rules,
        calendar=calendar,
        auth=AuthService(uow, Argon2PasswordHasher(), clock, policy),
        registry=RegistryService(uow, rules, clock),
        audit=AuditLogService(uow, checkpointer, trusted, clock),
        compliance=ComplianceService(uow, rules, clock, calendar),
        recording=RecordingService(uow, clock),
        footage=footage,
        requests=requests,
        retention=retention,
        holds=HoldService(uow, clock),
        alarms=alarms,
        storage=StorageWatch(
            uow,
            clock,
            retention,
            alarms,
            str(settings.resolved_media_dir()),
            segment_store.disk_usage,
        ),
        scrubber=Scrubber(uow, clock, segment_store, alarms),
        imports=FootageImportService(
            uow, clock, segment_store, FfmpegFootageCutter(), settings.data_dir / "imports"
        ),
        network=NetworkInterruptionService(uow, rules, clock),
        offload=offload,
    )


def _offload(
    settings: Settings, uow: SqlUnitOfWorkFactory, clock: Clock, segments: SegmentStore
) -> OffloadService | None:
    """The object-store offloader, when ``CUSTOS_S3_ENDPOINT`` is set (boto3 is loaded only then)."""
    if not settings.object_store_enabled() or settings.s3_endpoint is None:
        return None
    from custos.adapters.storage.object_store import S3SegmentStore

    secret = settings.s3_secret_key.get_secret_value() if settings.s3_secret_key else None
    store = S3SegmentStore(
        settings.s3_endpoint,
        settings.s3_bucket,
        settings.s3_access_key,
        secret,
        settings.s3_region,
        settings.s3_lock_mode,
        prefix=settings.s3_prefix,
    )
    return OffloadService(
        uow,
        store,
        clock,
        segments.absolute,
        settings.data_dir / "object-cache",
        settings.s3_lock_days,
    )
