"""The only place that wires adapters into services (docs/design/architecture.md).

:func:`bootstrap` builds a :class:`Container`: the :class:`Services` that entry points are
handed, and the engine they run on, which only the container's holder sees (to close it). The
functions at the end build the few things a CLI command needs without a container."""

from __future__ import annotations

import os
import secrets
import signal
import socket
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from sqlalchemy import Engine

from custos import __version__
from custos.adapters.audit_witness import CheckpointFile, WitnessFiles
from custos.adapters.bureau_witness_client import BureauWitnessClient
from custos.adapters.child_process import dies_with_parent
from custos.adapters.chinese_workdays import ChineseWorkdayCalendar
from custos.adapters.crypto import Argon2PasswordHasher, FernetSecretBox, load_or_create_key
from custos.adapters.db.cluster_status_repositories import SqlClusterStatus
from custos.adapters.db.duty_lease_repositories import SqlDutyLeases
from custos.adapters.db.engine import EngineProbe, make_engine
from custos.adapters.db.publication_repositories import SqlPublications
from custos.adapters.db.uow import SqlUnitOfWorkFactory
from custos.adapters.diagnosis.analyser import FileFrameAnalyser
from custos.adapters.division_table import division_table as division_table  # for the CLI
from custos.adapters.evidence_keys import ExportKeyring, log_key_published
from custos.adapters.export.evidence_files import EvidenceFiles, custody_renderer, verify_html
from custos.adapters.export.filing_pdf import FilingPdf
from custos.adapters.export.inspection_report import render_inspection_report
from custos.adapters.export.league_sheet import render_league_sheet
from custos.adapters.filing_exchange_keys import ExchangeKeys
from custos.adapters.masking.publication_masker import PublicationMasker
from custos.adapters.media.footage_cutter import FfmpegFootageCutter
from custos.adapters.media.keyframe_jpeg import newest_keyframe_jpeg
from custos.adapters.media.segment_cut import FfmpegSegmentCutter
from custos.adapters.notify import ChannelDispatcher
from custos.adapters.onvif import ZeepOnvifClient
from custos.adapters.rulepack_loader import load_rulebook
from custos.adapters.signing import (
    KEY_FILE,
    PUBLIC_FILE,
    TrustedKeys,
    load_or_create_signer,
    read_public_key,
    read_sender_key,
)
from custos.adapters.sip.cascade_link import LocalIdentity
from custos.adapters.sip.cascade_media import UpwardMediaConfig
from custos.adapters.sip.cascade_runner import CascadeRunner
from custos.adapters.sip.media_control import MediaControlServer, socket_path
from custos.adapters.sip.server import GbSipServer, SipListen
from custos.adapters.storage import seaweedfs
from custos.adapters.storage.documents import DocumentStore
from custos.adapters.storage.seaweedfs_cluster import LocalCluster
from custos.adapters.storage.segment_files import SegmentStore
from custos.adapters.time_stamps import (
    STORE_DIR,
    TimeStampAuthority,
    TimeStampFiles,
    TimeStampWitness,
    tsa_certificates,
)
from custos.adapters.time_stamps import holds_time_stamps as _holds_time_stamps
from custos.config import Settings
from custos.domain.audit_chain import key_id_of
from custos.domain.calendar import WorkdayCalendar
from custos.domain.clock import Clock, SystemClock
from custos.domain.divisions import DivisionTable
from custos.domain.duty_leases import holder_id
from custos.domain.evidence import SystemInfo
from custos.domain.notify import RetryPolicy
from custos.domain.rules import RuleBook
from custos.services.access_requests import AccessRequestService
from custos.services.alarm_delivery import AlarmDeliveryService, DeliveryOutbox
from custos.services.alarm_feed import AlarmFeed
from custos.services.alarm_watch import AlarmWatch
from custos.services.audit_log import AuditLogService, Checkpointer, CheckpointPolicy
from custos.services.audit_witness import CheckpointWitness, WitnessService
from custos.services.auth import AuthPolicy, AuthService
from custos.services.bureau_witness import BureauWitnessService
from custos.services.camera_time import CameraTimeService
from custos.services.cluster_media import ClusterMedia, first_found
from custos.services.cluster_status import ClusterStatusService
from custos.services.compliance import ComplianceService
from custos.services.contractors import ContractorService
from custos.services.diagnosis import DiagnosisService
from custos.services.duty import DutyService
from custos.services.duty_leases import DutyLeases
from custos.services.duty_rota import DutyRotaService
from custos.services.emergency import EmergencyService
from custos.services.evidence import EvidenceBuilder
from custos.services.evidence_seal import EvidenceSealer
from custos.services.filing import FilingService
from custos.services.filing_changes import FilingChanges
from custos.services.filing_decisions import FilingDecisions
from custos.services.filing_exchange import FilingExchange
from custos.services.footage import FootageService
from custos.services.footage_import import FootageImportService
from custos.services.gb_cascade import GbCascadeService
from custos.services.gb_channels import GbCatalogService
from custos.services.gb_device_cameras import GbDeviceCameras
from custos.services.gb_devices import GbDeviceService, GbServerSettings
from custos.services.gb_ptz import GbPtzService
from custos.services.gb_queries import GbDeviceQueries
from custos.services.gb_upward import GbUpwardService
from custos.services.health import HealthService
from custos.services.holds import HoldService
from custos.services.inspections import InspectionService
from custos.services.interruption_accounting import InterruptionAccountingService
from custos.services.keys import KeysService
from custos.services.live_feed import LiveFeeds
from custos.services.live_pull import LivePulls, PulledStream
from custos.services.maintenance import MaintenanceService
from custos.services.monitoring_room import MonitoringRoomService
from custos.services.network_interruptions import NetworkInterruptionService
from custos.services.notify_channels import NotifyChannelService
from custos.services.object_replication import ReplicationReport, check_replication
from custos.services.offload import OffloadService
from custos.services.onvif_onboarding import OnboardingService
from custos.services.police_reports import PoliceReportService
from custos.services.ptz import PtzService
from custos.services.publication import PublicationService
from custos.services.recording import RecordingService
from custos.services.rectification import RectificationService
from custos.services.registry import RegistryService
from custos.services.request_publication import RequestPublication
from custos.services.retention import RetentionService
from custos.services.scrub import Scrubber
from custos.services.segment_media import SegmentMediaService
from custos.services.snapshot import SnapshotService
from custos.services.staff import StaffService
from custos.services.storage_watch import AlarmService, StorageWatch
from custos.services.supervision import SupervisionService
from custos.services.wall_layouts import WallLayoutService

if TYPE_CHECKING:
    from custos.adapters.storage.checkpoint_objects import CheckpointObjects
    from custos.adapters.storage.object_store import S3SegmentStore
    from custos.adapters.storage.shared_files import SharedFiles


@dataclass(kw_only=True)
class Services:
    """What an entry point (the API, the web UI, a CLI command, a worker) is handed: the
    services and what they share. The database is reached only through a service."""

    settings: Settings
    clock: Clock
    rules: RuleBook
    calendar: WorkdayCalendar
    divisions: DivisionTable  # GB/T 2260, shipped (docs/design/filing.md D1)
    auth: AuthService
    registry: RegistryService
    audit: AuditLogService
    compliance: ComplianceService
    recording: RecordingService
    footage: FootageService
    keys: KeysService  # the export and log keys, published (issue 13)
    requests: AccessRequestService
    retention: RetentionService
    holds: HoldService
    alarms: AlarmService
    storage: StorageWatch
    scrubber: Scrubber
    health: HealthService
    segment_media: SegmentMediaService
    imports: FootageImportService
    network: NetworkInterruptionService
    gb_cascade: GbCascadeService  # GB/T 28181 upper platforms and share lists
    gb_devices: GbDeviceService  # GB/T 28181 devices: allow-list, registrations, keepalive
    gb_channels: GbCatalogService  # GB/T 28181 devices' catalogues, channels, placement
    gb_ptz: GbPtzService  # PTZ of placed GB/T 28181 channels (DeviceControl PTZCmd)
    gb_queries: GbDeviceQueries  # Catalog / DeviceInfo / DeviceStatus queries to GB devices
    onboarding: OnboardingService  # ONVIF discovery, proposals, acceptance
    camera_time: CameraTimeService  # camera clock drift, checked daily, set where allowed
    ptz: PtzService
    diagnosis: DiagnosisService  # video quality: the sampler, thresholds, references
    duty: DutyService  # signing on, handovers, the duty log
    duty_rota: DutyRotaService  # shifts and the rota of the monitoring rooms
    rooms: MonitoringRoomService  # monitoring rooms and their access register
    police_reports: PoliceReportService
    delivery: AlarmDeliveryService
    alarm_feed: AlarmFeed  # the server push of new and changed alarms
    channels: NotifyChannelService
    alarm_watch: AlarmWatch
    accounting: InterruptionAccountingService
    staff: StaffService  # the staff archive and trainings
    maintenance: MaintenanceService  # inspections, work orders, assessments
    contractors: ContractorService  # contractors and entrustment agreements
    emergency: EmergencyService  # emergency plans and drills
    publications: PublicationService  # masked copies for public dissemination (issue 13)
    filings: FilingService  # filing with the police: package and case loop (issue 15)
    filing_exchange: FilingExchange  # signed filing files across systems; a bureau's imports
    filing_decisions: FilingDecisions  # a decision made elsewhere (file or paper), recorded
    inspections: InspectionService  # the bureau's inspections with the packs' checklists
    rectifications: RectificationService  # rectification notices to closure (issue 15)
    supervision: SupervisionService  # the bureau's console, within its jurisdiction (issue 15)
    bureau_witness: BureauWitnessService  # the bureau keeps its units' checkpoints (issue 13)
    offload: OffloadService | None = None  # None unless an object store is configured
    witnesses: WitnessService | None = None  # hands signed checkpoints to witnesses (issue 13)
    duty_leases: DutyLeases  # which server runs each timed duty (issue 16)
    cluster_media: ClusterMedia | None = None  # live and footage on other nodes (PostgreSQL)
    live_feeds: LiveFeeds  # the duty wall's sources: taps, pulled sub streams, transcodes
    cluster_status: ClusterStatusService  # nodes, leases, offload lag, duties (issue 16)
    wall: WallLayoutService  # the duty wall's saved layouts, per user and per room
    snapshots: SnapshotService  # a camera's newest frame as a registered export


@dataclass(kw_only=True)
class Container(Services):
    """The services and the engine and units of work they run on, held by whoever called
    :func:`bootstrap` (a command, the server, the recorder, a test fixture), who closes it."""

    engine: Engine
    uow: SqlUnitOfWorkFactory

    def close(self) -> None:
        if self.live_feeds.pulls is not None:
            self.live_feeds.pulls.close_all()  # the sub streams pulled for the wall end now
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
    engine = make_engine(settings.resolved_database_url(), settings.database_idle_transaction_s)
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
    cluster_media = _cluster_media(settings, engine, clock)
    keyring = ExportKeyring(settings.data_dir / "keys", secrets)
    keys = KeysService(
        uow,
        clock,
        keyring,
        log_key_published(signer.public_key, settings.data_dir / "keys" / KEY_FILE),
    )
    keys.ensure_export_key()
    evidence = EvidenceBuilder(
        clock,
        EvidenceFiles(),
        keyring,
        signer.public_key,
        settings.data_dir / "exports",
        SystemInfo("Custos", __version__, settings.gb_platform_id),
        custody=custody_renderer(),
        verify_html=verify_html,
    )
    # requests for publication (issue 13 §3): the ask checked, the case opened on execute
    request_publication = RequestPublication(
        rules, SqlPublications(engine), uow, settings.data_dir / "publications", clock
    )
    footage = FootageService(
        uow,
        clock,
        segment_store.absolute,
        settings.data_dir / "exports",
        evidence,
        fetch=first_found(
            offload.fetch if offload is not None else None,
            cluster_media.fetch if cluster_media is not None else None,
        ),
        rules=rules,
        shared_exports=_shared_files(settings, "exports"),
        withheld=request_publication.withheld,
    )
    documents = DocumentStore(settings.data_dir / "documents", _shared_files(settings, "documents"))
    # re-filing tasks (docs/design/filing.md D4): told of every registry and profile write
    changes = FilingChanges(rules, calendar, division_table(), clock, documents.read)
    requests = AccessRequestService(
        uow, rules, signer, trusted.verify, clock, footage, documents.put, request_publication
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
    duty = DutyService(uow, clock)
    outbox = DeliveryOutbox(on_duty=duty.on_duty_users)  # level 0: who is signed on
    alarms = AlarmService(uow, clock)
    sender = ChannelDispatcher(clock, settings.notify_timeout_s)
    onvif = ZeepOnvifClient(settings.onvif_timeout_s)
    camera_time = CameraTimeService(uow, onvif, alarms, clock, settings.clock_drift_limit_s)
    publications = PublicationService(
        SqlPublications(engine),
        uow,
        rules,
        PublicationMasker(),
        keyring.current,
        settings.data_dir / "publications",
        clock,
        exports_root=settings.data_dir / "exports",
        sealer=EvidenceSealer(
            clock,
            EvidenceFiles(),
            keyring,
            signer.public_key,
            SystemInfo("Custos", __version__, settings.gb_platform_id),
            verify_html=verify_html,
            custody=custody_renderer(),
        ),
    )
    gb_channels = GbCatalogService(
        uow, RegistryService(uow, rules, clock, changes.note_change), clock
    )
    recording = RecordingService(uow, clock, alarms)
    duty_leases = _duty_leases(engine)
    return Container(
        settings=settings,
        engine=engine,
        uow=uow,
        clock=clock,
        rules=rules,
        calendar=calendar,
        divisions=division_table(),
        auth=AuthService(uow, Argon2PasswordHasher(), clock, policy),
        registry=RegistryService(uow, rules, clock, changes.note_change),
        audit=AuditLogService(uow, checkpointer, trusted, clock),
        compliance=ComplianceService(uow, rules, clock, calendar),
        supervision=SupervisionService(
            uow,
            ComplianceService(uow, rules, clock, calendar).site_report,
            division_table(),
            clock,
            render_league_sheet,
        ),
        bureau_witness=BureauWitnessService(uow, clock, read_sender_key, trusted_keys),
        recording=recording,
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
        health=HealthService(EngineProbe(engine)),
        segment_media=SegmentMediaService(
            footage.segment_media, FfmpegSegmentCutter(), settings.data_dir / "cuts"
        ),
        imports=FootageImportService(
            uow,
            clock,
            segment_store,
            FfmpegFootageCutter(),
            settings.data_dir / "imports",
            keep_until=lambda camera_id, end: retention.policy_for(camera_id).keep_until(end),
        ),
        network=NetworkInterruptionService(uow, rules, clock),
        gb_cascade=GbCascadeService(uow, rules, clock),
        gb_devices=GbDeviceService(
            uow, clock, _gb_server_settings(settings), alarms, GbDeviceCameras(uow, clock)
        ),
        gb_channels=gb_channels,
        gb_ptz=GbPtzService(uow, clock),
        gb_queries=GbDeviceQueries(uow, clock, gb_channels.query, settings.gb_keepalive_interval_s),
        onboarding=OnboardingService(
            uow, RegistryService(uow, rules, clock, changes.note_change), onvif, camera_time, clock
        ),
        camera_time=camera_time,
        publications=publications,
        inspections=InspectionService(uow, rules, clock, documents, render_inspection_report),
        rectifications=RectificationService(uow, clock, documents),
        filings=FilingService(
            uow,
            rules,
            division_table(),
            calendar,
            clock,
            documents,
            FilingPdf(),
            on_profile_change=changes.profile_changed,
            after_acceptance=changes.after_acceptance,
        ),
        filing_exchange=FilingExchange(
            uow, division_table(), clock, documents, ExchangeKeys(keyring)
        ),
        filing_decisions=FilingDecisions(
            uow,
            clock,
            documents,
            ExchangeKeys(keyring),
            after_acceptance=changes.after_acceptance,
        ),
        ptz=PtzService(uow, onvif, clock),
        diagnosis=DiagnosisService(
            uow,
            clock,
            FileFrameAnalyser(settings.data_dir / "diagnosis", segment_store.absolute),
            alarms,
            rules,
            settings.diagnosis_every_s,
        ),
        duty=duty,
        duty_rota=DutyRotaService(uow, clock),
        rooms=MonitoringRoomService(uow, clock),
        wall=WallLayoutService(uow, clock),
        snapshots=SnapshotService(
            uow,
            clock,
            settings.resolved_media_dir(),
            settings.data_dir / "exports",
            newest_keyframe_jpeg,
        ),
        staff=StaffService(uow, rules, clock),
        maintenance=MaintenanceService(uow, rules, clock),
        contractors=ContractorService(uow, clock),
        emergency=EmergencyService(uow, clock),
        police_reports=PoliceReportService(uow, rules, clock),
        delivery=AlarmDeliveryService(
            uow,
            clock,
            alarms,
            outbox,
            sender,
            RetryPolicy(settings.notify_retry_first_s, settings.notify_max_tries),
            timedelta(seconds=settings.alarm_escalate_after_s),
        ),
        channels=NotifyChannelService(uow, clock, sender, sender.url_problem),
        alarm_feed=AlarmFeed(alarms),
        alarm_watch=AlarmWatch(
            uow, alarms, rules, clock, settings.camera_offline_grace_s, settings.segment_seconds
        ),
        accounting=InterruptionAccountingService(uow, rules, clock),
        keys=keys,
        offload=offload,
        witnesses=_witnesses(settings, uow, checkpointer),
        duty_leases=duty_leases,
        cluster_media=cluster_media,
        live_feeds=LiveFeeds(
            uow,
            recording.health,
            settings.resolved_live_dir(),
            LivePulls(_open_live_pull),
            settings.live_transcodes,
        ),
        cluster_status=ClusterStatusService(
            SqlClusterStatus(engine), clock, recording.targets, duty_leases, offload is not None
        ),
    )


def _open_live_pull(url: str, what: str) -> PulledStream:
    """A camera stream pulled for live view (PyAV, loaded only when a sub stream is watched)."""
    from custos.adapters.media.live_pull_av import open_pull

    return open_pull(url, what)


def _cluster_media(settings: Settings, engine: Engine, clock: Clock) -> ClusterMedia | None:
    """Live view and footage on other recorder nodes (docs/design/cluster.md): PostgreSQL only;
    without ``CUSTOS_CLUSTER_SECRET`` nothing is asked of a node (said once, when needed)."""
    if engine.dialect.name != "postgresql":
        return None
    from custos.adapters.db.node_directory import SqlNodeDirectory
    from custos.adapters.storage.node_media_client import NodeMediaClient

    secret = settings.cluster_secret
    client = NodeMediaClient(secret.get_secret_value().encode(), clock) if secret else None
    return ClusterMedia(SqlNodeDirectory(engine), client, settings.data_dir / "node-cache")


def _duty_leases(engine: Engine) -> DutyLeases:
    """This process's duty leases (docs/design/cluster.md, "Timed duties"): in PostgreSQL,
    held as ``host:pid:random``; on SQLite (one machine) every duty held, no table."""
    store = SqlDutyLeases(engine) if engine.dialect.name == "postgresql" else None
    holder = holder_id(socket.gethostname(), os.getpid(), secrets.token_hex(4))
    return DutyLeases(store, holder)


def _witnesses(
    settings: Settings, uow: SqlUnitOfWorkFactory, checkpointer: Checkpointer
) -> WitnessService:
    """The checkpoint file, the object store and the bureau when they are configured
    (docs/design/evidence.md), woken after each commit that signed a checkpoint."""
    witnesses: list[CheckpointWitness] = [CheckpointFile(settings.resolved_audit_witness_dir())]
    if settings.audit_witness_objectstore and settings.object_store_enabled():
        witnesses.append(checkpoint_objects(settings))
    if settings.audit_witness_url:
        witnesses.append(
            bureau_witness(settings, settings.audit_witness_url, checkpointer.signer.key_id)
        )
    if settings.audit_tsa_url is not None:
        witnesses.append(time_stamp_witness(settings))
    service = WitnessService(uow, witnesses)
    checkpointer.after_commit(service.wake)
    return service


def checkpoint_objects(settings: Settings) -> CheckpointObjects:
    """The configured bucket as a witness of checkpoints, and as their source for ``custos audit
    verify --witness-objectstore`` (boto3 is loaded only here); ValueError when none is set."""
    if not settings.object_store_enabled() or settings.s3_endpoint is None:
        raise ValueError("no object store is configured (CUSTOS_S3_ENDPOINT)")
    from custos.adapters.storage.checkpoint_objects import CheckpointObjects
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
    return CheckpointObjects(store, settings.s3_lock_days)


def bureau_witness(settings: Settings, url: str, key_id: str) -> BureauWitnessClient:
    """The bureau's Custos at ``url`` as a witness of the log key ``key_id``'s checkpoints, and as
    their source for ``custos audit verify --witness URL``; ValueError naming the setting when
    the URL or the CA file is unusable (the URL itself is never quoted: it is configuration)."""
    try:
        return BureauWitnessClient(url, key_id, settings.audit_witness_ca_file)
    except ValueError as exc:
        raise ValueError(
            f"the bureau's URL (CUSTOS_AUDIT_WITNESS_URL or --witness): {exc}"
        ) from None


def log_key_id(settings: Settings) -> str:
    """The key id of this installation's log key, from its public key file (no database)."""
    return key_id_of(read_public_key(str(settings.data_dir / "keys" / PUBLIC_FILE)))


def time_stamp_witness(settings: Settings) -> TimeStampWitness:
    """The configured RFC 3161 TSA as a witness, its tokens kept in the witness directory's
    ``time-stamps/`` (the URL was checked with the settings; an unusable CA file fails the
    witness's passes, logged, never the server)."""
    assert settings.audit_tsa_url is not None
    tsa = TimeStampAuthority(settings.audit_tsa_url.get_secret_value())
    directory = settings.resolved_audit_witness_dir() / STORE_DIR
    return TimeStampWitness(tsa, directory, settings.audit_tsa_cert)


def time_stamp_files(paths: list[Path], cert: Path, tolerance: timedelta) -> TimeStampFiles:
    """Time-stamp stores to read back for ``custos audit verify``, each token checked against
    the TSA CA in ``cert``; ValueError when that file is unusable."""
    return TimeStampFiles(paths, tsa_certificates(cert), tolerance)


def holds_time_stamps(path: Path) -> bool:
    """True when ``path`` is a time-stamp store (a directory with ``*.tsr`` tokens)."""
    return _holds_time_stamps(path)


def witness_files(paths: list[Path]) -> WitnessFiles:
    """Witness files (or directories of them) to read back for ``custos audit verify``."""
    return WitnessFiles(paths)


def _s3_store(settings: Settings) -> S3SegmentStore:
    """The S3 client of ``CUSTOS_S3_*`` (boto3 is loaded only when one is configured)."""
    from custos.adapters.storage.object_store import S3SegmentStore

    assert settings.s3_endpoint is not None
    secret = settings.s3_secret_key.get_secret_value() if settings.s3_secret_key else None
    return S3SegmentStore(
        settings.s3_endpoint,
        settings.s3_bucket,
        settings.s3_access_key,
        secret,
        settings.s3_region,
        settings.s3_lock_mode,
        timeout_s=settings.s3_timeout_s,
        prefix=settings.s3_prefix,
    )


def _shared_files(settings: Settings, kind: Literal["documents", "exports"]) -> SharedFiles | None:
    """Uploaded documents or export packages copied to the object store, when one is
    configured, so that every server reads them (docs/design/cluster.md, "Stateless servers")."""
    if not settings.object_store_enabled() or settings.s3_endpoint is None:
        return None
    from custos.adapters.storage.object_store import DOCUMENT_FOLDER, EXPORT_FOLDER
    from custos.adapters.storage.shared_files import SharedFiles

    store = _s3_store(settings)
    if kind == "documents":
        return SharedFiles(store, DOCUMENT_FOLDER, "application/octet-stream")
    return SharedFiles(store, EXPORT_FOLDER, "application/zip")


def _offload(
    settings: Settings, uow: SqlUnitOfWorkFactory, clock: Clock, segments: SegmentStore
) -> OffloadService | None:
    """The object-store offloader, when ``CUSTOS_S3_ENDPOINT`` is set (boto3 is loaded only then)."""
    if not settings.object_store_enabled() or settings.s3_endpoint is None:
        return None
    store = _s3_store(settings)
    return OffloadService(
        uow,
        store,
        clock,
        segments.absolute,
        settings.data_dir / "object-cache",
        settings.s3_lock_days,
    )


# ---- what a CLI command builds without a container -----------------------------------------
def _gb_server_settings(settings: Settings) -> GbServerSettings:
    return GbServerSettings(
        platform_id=settings.gb_platform_id,
        domain=settings.resolved_gb_domain(),
        keepalive_interval_s=settings.gb_keepalive_interval_s,
        min_expires_s=settings.gb_register_min_expires_s,
        max_expires_s=settings.gb_register_max_expires_s,
    )


def gb_sip_server(
    settings: Settings, services: Services, check_every_s: float | None = None
) -> GbSipServer:
    """The GB/T 28181 SIP server (not started) for `custos serve` when ``gb_enabled``; its
    offline check runs every quarter keepalive interval (0.2–5 s) unless told otherwise."""
    if check_every_s is None:
        check_every_s = max(0.2, min(5.0, settings.gb_keepalive_interval_s / 4))
    listen = SipListen(
        settings.gb_sip_host,
        settings.gb_sip_port,
        udp="udp" in settings.gb_sip_transports,
        tcp="tcp" in settings.gb_sip_transports,
        limit=settings.gb_max_message_bytes,
        check_every_s=check_every_s,
    )
    catalog = services.gb_channels
    server = GbSipServer(services.gb_devices, listen, catalog.is_channel_of)
    server.on_message.append(catalog.on_message)
    server.on_tick.append(catalog.expire)
    services.gb_ptz.connect(server.send_message)
    # on registering: the Catalog, DeviceInfo and DeviceStatus queries, in that order
    services.gb_queries.connect(server.send_message)
    services.gb_devices.on_registered.append(services.gb_queries.on_registered)
    return server


def gb_media_control(settings: Settings, server: GbSipServer) -> MediaControlServer:
    """The media control socket the recorder INVITEs devices through (``<data-dir>/run/
    gb-media.sock``), not started: start it after the SIP server, stop it before."""
    return MediaControlServer(server, socket_path(settings.data_dir))


def rulebook() -> RuleBook:
    """The rule packs shipped with Custos (``custos rules list``)."""
    return load_rulebook()


def segment_files(settings: Settings) -> SegmentStore:
    """The segment files on disk (``custos check`` compares them with the index)."""
    return SegmentStore(settings.resolved_media_dir(), settings.media_volumes)


def pinned_keys(public_key: str) -> TrustedKeys:
    """The audit key an auditor pins: its hex, or a file holding it; ValueError if neither."""
    return TrustedKeys.of(read_public_key(public_key))


def trusted_keys(public_key: bytes) -> TrustedKeys:
    """Exactly this key (an export checked against the key it names)."""
    return TrustedKeys.of(public_key)


def demo_camera_command(settings: Settings, rtsp_port: int, mounts: list[str]) -> list[str]:
    """The command line of ``custos demo``'s simulated RTSP cameras, its clips made once into
    ``DATA/demo``: each camera has a 640x360 main stream and a 320x180 sub stream
    (``<mount>-sub``), as a duty wall's tiles use."""
    from custos.adapters.media.simcam.clip import make_clip, server_command

    clip = make_clip(settings.data_dir / "demo" / "clip.h264")
    sub = make_clip(settings.data_dir / "demo" / "clip-sub.h264", size="320x180", kbps=200)
    return server_command(clip, rtsp_port, mounts, sub_clip=sub)


def object_store_server(
    store_dir: Path,
    s3_port: int,
    volume_size_mb: int,
    volumes: int = 1,
    replication: str = "000",
    restart_after_s: float = 10.0,
    notify: Callable[[str], None] | None = None,
) -> seaweedfs.LocalServer | LocalCluster:
    """A one-machine SeaweedFS for ``custos objectstore serve``, not started yet: one process,
    or with several volume servers a replicated cluster; ValueError (bad port, ports taken, a
    replication the servers cannot hold) or FileNotFoundError (no ``weed``) when it could not
    run."""
    server: seaweedfs.LocalServer | LocalCluster
    if volumes == 1 and replication == "000":
        server = seaweedfs.LocalServer(
            store_dir, s3_port, volume_size_mb, dies_with_parent(signal.SIGKILL)
        )
    else:
        server = LocalCluster(
            store_dir, s3_port, volumes, replication, volume_size_mb, restart_after_s,
            dies_with_parent(signal.SIGKILL), notify,
        )  # fmt: skip
    server.check()
    return server


def object_store_replication(settings: Settings) -> ReplicationReport | None:
    """What the object store's master says of its volumes' copies (None: no object store)."""
    from custos.adapters.storage.seaweedfs_replication import MasterTopology

    if not settings.object_store_enabled():
        return None
    url = settings.s3_master_url
    return check_replication(MasterTopology(url) if url else None, settings.s3_bucket)


def open_object_store_bucket(
    settings: Settings, endpoint: str, access_key: str, secret_key: str
) -> bool:
    """Make the configured bucket (Object Lock on) if it is missing; True when it locks."""
    from custos.adapters.storage.object_store import S3SegmentStore

    store = S3SegmentStore(endpoint, settings.s3_bucket, access_key, secret_key, settings.s3_region)
    store.ensure_bucket(object_lock=True)
    return store.locking()


def gb_cascade_runner(settings: Settings, services: Container) -> CascadeRunner:
    """The cascade clients' runner (not started) for `custos serve` when ``gb_enabled``: Custos
    registers with each enabled upper platform (issue 12 §2) and serves it live video and
    playback of the cameras shared with it (G4)."""
    me = LocalIdentity(settings.gb_platform_id, settings.resolved_gb_domain())
    store = SegmentStore(settings.resolved_media_dir(), settings.media_volumes)
    upward = GbUpwardService(
        services.uow, services.gb_cascade, services.clock, store.absolute,
        services.retention.policy_in, services.requests.frozen_scopes,
    )  # fmt: skip
    media = UpwardMediaConfig(
        upward, settings.resolved_media_dir(), settings.data_dir / "upward", services.clock
    )
    return CascadeRunner(services.gb_cascade, me, services.clock, settings.gb_sip_host, media=media)
