"""The SQLAlchemy unit of work: one connection, one transaction."""

from __future__ import annotations

from types import TracebackType
from typing import Self

from sqlalchemy import Connection, Engine

from custos.adapters.db import access_repositories as ar
from custos.adapters.db import cascade_repositories as gbc
from custos.adapters.db import cluster_repositories as clr
from custos.adapters.db import conformance_repositories as cr
from custos.adapters.db import delivery_repositories as dr
from custos.adapters.db import diagnosis_repositories as dgr
from custos.adapters.db import duty_repositories as dur
from custos.adapters.db import filing_exchange_repositories as fxr
from custos.adapters.db import filing_repositories as fr
from custos.adapters.db import gb_channel_repositories as gch
from custos.adapters.db import gb_repositories as gbd
from custos.adapters.db import inspection_repositories as ipr
from custos.adapters.db import maintenance_repositories as mr
from custos.adapters.db import object_repositories as orr
from custos.adapters.db import onvif_repositories as onv
from custos.adapters.db import operations_repositories as opr
from custos.adapters.db import publication_repositories as pur
from custos.adapters.db import recording_repositories as rr
from custos.adapters.db import repositories as r
from custos.adapters.db import retention_repositories as rtr
from custos.adapters.db import staff_repositories as sr
from custos.adapters.db import wall_repositories as wlr
from custos.adapters.db import witness_repositories as wr
from custos.adapters.db.sign_in import SignInLedgerRepository
from custos.services.audit_log import Checkpointer
from custos.services.ports import SecretBox


class SqlUnitOfWork:
    units: r.UnitRepository
    sites: r.SiteRepository
    cameras: r.CameraRepository
    filings: r.FilingRepository
    users: r.UserRepository
    sessions: r.SessionRepository
    sign_in: SignInLedgerRepository
    audit: r.AuditRepository
    segments: rr.SegmentRepository
    gaps: rr.GapRepository
    health: rr.HealthRepository
    leases: clr.LeaseRepository
    access_requests: ar.AccessRequestRepository
    register: ar.RegisterRepository
    playback_sessions: ar.PlaybackSessionRepository
    exports: ar.ExportRepository
    publications: pur.PublicationRepository
    segment_objects: orr.SegmentObjectRepository
    holds: rtr.HoldRepository
    garbage: rtr.GarbageRepository
    alarms: rtr.AlarmRepository
    footage_imports: cr.FootageImportRepository
    network_interruptions: cr.NetworkInterruptionRepository
    diagnosis: dgr.CameraDiagnosisRepository
    diagnosis_references: dgr.ReferenceRepository
    camera_faults: opr.CameraFaultRepository
    unit_settings: opr.UnitSettingsRepository
    recent_seals: opr.RecentSealRepository
    monitoring_rooms: dur.MonitoringRoomRepository
    duty: dur.DutyRepository
    police_reports: dur.PoliceReportRepository
    channels: dr.ChannelRepository
    rota: dr.RotaRepository
    deliveries: dr.DeliveryRepository
    escalations: dr.EscalationRepository
    staff: sr.StaffRepository
    maintenance: mr.MaintenanceRepository
    contractors: mr.ContractorRepository
    emergency: mr.EmergencyRepository
    onvif_proposals: onv.ProposalRepository
    onvif_links: onv.OnvifLinkRepository
    onvif_settings: onv.OnvifUnitSettingsRepository
    gb_platforms: gbc.UpperPlatformRepository
    gb_shares: gbc.ShareRepository
    gb_devices: gbd.GbDeviceRepository
    gb_channels: gch.GbChannelRepository
    gb_device_reports: gch.GbDeviceReportRepository
    inspections: ipr.InspectionRepository
    rectifications: ipr.RectificationRepository
    filing_profiles: fr.FilingProfileRepository
    filing_cases: fr.FilingCaseRepository
    filing_receipts: fxr.FilingReceiptRepository
    witness_senders: wr.WitnessSenderRepository
    witness_checkpoints: wr.WitnessCheckpointRepository
    wall_layouts: wlr.WallLayoutRepository

    def __init__(
        self, engine: Engine, secrets: SecretBox, checkpointer: Checkpointer | None = None
    ) -> None:
        self._engine = engine
        self._secrets = secrets
        self._checkpointer = checkpointer
        self._conn: Connection | None = None

    def __enter__(self) -> Self:
        conn = self._engine.connect()
        conn.begin()
        self._conn = conn
        self.units = r.UnitRepository(conn)
        self.sites = r.SiteRepository(conn)
        self.cameras = r.CameraRepository(conn, self._secrets)
        self.filings = r.FilingRepository(conn)
        self.users = r.UserRepository(conn)
        self.sessions = r.SessionRepository(conn)
        self.sign_in = SignInLedgerRepository(conn)
        self.audit = r.AuditRepository(conn, self._checkpointer)
        self.segments = rr.SegmentRepository(conn)
        self.gaps = rr.GapRepository(conn)
        self.health = rr.HealthRepository(conn)
        self.leases = clr.LeaseRepository(conn)
        self.access_requests = ar.AccessRequestRepository(conn)
        self.register = ar.RegisterRepository(conn)
        self.playback_sessions = ar.PlaybackSessionRepository(conn)
        self.exports = ar.ExportRepository(conn)
        self.publications = pur.PublicationRepository(conn)
        self.segment_objects = orr.SegmentObjectRepository(conn)
        self.holds = rtr.HoldRepository(conn)
        self.garbage = rtr.GarbageRepository(conn)
        self.alarms = rtr.AlarmRepository(conn)
        self.footage_imports = cr.FootageImportRepository(conn)
        self.network_interruptions = cr.NetworkInterruptionRepository(conn)
        self.diagnosis = dgr.CameraDiagnosisRepository(conn)
        self.diagnosis_references = dgr.ReferenceRepository(conn)
        self.camera_faults = opr.CameraFaultRepository(conn)
        self.unit_settings = opr.UnitSettingsRepository(conn)
        self.recent_seals = opr.RecentSealRepository(conn)
        self.monitoring_rooms = dur.MonitoringRoomRepository(conn)
        self.duty = dur.DutyRepository(conn)
        self.police_reports = dur.PoliceReportRepository(conn)
        self.channels = dr.ChannelRepository(conn, self._secrets)
        self.rota = dr.RotaRepository(conn)
        self.deliveries = dr.DeliveryRepository(conn)
        self.escalations = dr.EscalationRepository(conn)
        self.staff = sr.StaffRepository(conn, self._secrets)
        self.maintenance = mr.MaintenanceRepository(conn)
        self.contractors = mr.ContractorRepository(conn)
        self.emergency = mr.EmergencyRepository(conn)
        self.onvif_proposals = onv.ProposalRepository(conn, self._secrets)
        self.onvif_links = onv.OnvifLinkRepository(conn, self._secrets)
        self.onvif_settings = onv.OnvifUnitSettingsRepository(conn)
        self.gb_platforms = gbc.UpperPlatformRepository(conn, self._secrets)
        self.gb_shares = gbc.ShareRepository(conn)
        self.gb_devices = gbd.GbDeviceRepository(conn, self._secrets)
        self.gb_channels = gch.GbChannelRepository(conn)
        self.gb_device_reports = gch.GbDeviceReportRepository(conn)
        self.inspections = ipr.InspectionRepository(conn)
        self.rectifications = ipr.RectificationRepository(conn)
        self.filing_profiles = fr.FilingProfileRepository(conn)
        self.filing_cases = fr.FilingCaseRepository(conn)
        self.filing_receipts = fxr.FilingReceiptRepository(conn)
        self.witness_senders = wr.WitnessSenderRepository(conn)
        self.witness_checkpoints = wr.WitnessCheckpointRepository(conn)
        self.wall_layouts = wlr.WallLayoutRepository(conn)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self._conn is not None
        try:
            if self._conn.in_transaction():
                self._conn.rollback()
        finally:
            self._conn.close()
            self._conn = None

    def commit(self) -> None:
        assert self._conn is not None
        signed, self.audit.signed_uncommitted = self.audit.signed_uncommitted, False
        self._conn.commit()
        if signed and self._checkpointer is not None:
            self._checkpointer.committed()  # wakes the witnesses (docs/design/evidence.md)


class SqlUnitOfWorkFactory:
    def __init__(
        self, engine: Engine, secrets: SecretBox, checkpointer: Checkpointer | None = None
    ) -> None:
        self.engine = engine
        self._secrets = secrets
        self._checkpointer = checkpointer  # signs the operation log's checkpoints

    def __call__(self) -> SqlUnitOfWork:
        return SqlUnitOfWork(self.engine, self._secrets, self._checkpointer)
