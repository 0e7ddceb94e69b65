"""The words the rule packs use, as enumerations (obligations.md §0.3, §A.3, §A.4)."""

from __future__ import annotations

import enum


class FilingTrigger(enum.StrEnum):
    """What starts a filing (备案) or report deadline."""

    AFTER_ACCEPTANCE = "after_acceptance"  # 竣工验收合格之日起 (Beijing, Chongqing)
    AFTER_IN_USE = "after_in_use"  # 投入使用之日起 (Decree 799, Liaoning)
    CHANGE = "change"  # 发生变化 / 变更
    RELOCATION = "relocation"  # 迁移 (Xi'an art. 19)
    REMOVAL = "removal"  # 拆除
    PREEXISTING = "preexisting"  # a system already built/in use when the pack took effect


class Milestone(enum.StrEnum):
    """The step that makes a system "pre-existing" for a pack (§8 T-09)."""

    BUILT = "built"  # 已经建成 (Beijing, Liaoning, Chongqing): built, accepted or in use
    IN_USE = "in_use"  # 已经启用 (Decree 799 art. 14)


class RequesterKind(enum.StrEnum):
    """Who asks for footage (obligations.md §A.3, Decree 799 art. 20–21)."""

    POLICE = "police"
    STATE_SECURITY = "state_security"
    OTHER_ADMIN_DEPT = "other_admin_dept"
    GOV_DEPT = "gov_dept"
    JUDICIAL_ORGAN = "judicial_organ"
    DATA_SUBJECT = "data_subject"  # 本人、近亲属或者监护、看护人 (Decree 799 art. 21)


class AccessOperation(enum.StrEnum):
    """Access operations a rule may name: :class:`AccessAction` plus connection."""

    VIEW = "view"
    COPY = "copy"
    RETRIEVE = "retrieve"
    CONNECT = "connect"  # 接入指定的视频图像系统
    DIRECT_USE = "direct_use"  # 直接使用


class ApproverRole(enum.StrEnum):
    HEAD_OF_OWN_ORGAN = "head_of_own_organ"  # 本机关负责人
    POLICE_COUNTY_PLUS = "police_county_plus"  # 县级以上公安机关 (批准)
    HEAD_OF_POLICE_COUNTY_PLUS = "head_of_police_county_plus"  # 县级以上公安机关负责人
    HEAD_OF_COUNTY_STATE_SECURITY_OR_POLICE = "head_of_county_state_security_or_police"


class Credential(enum.StrEnum):
    WORK_ID = "work_id"  # 工作证件
    CERTIFYING_DOCUMENT = "certifying_document"  # 证明文件
    UNIT_CERTIFYING_DOCUMENT = "unit_certifying_document"  # 单位证明文件
    LAW_ENFORCEMENT_ID = "law_enforcement_id"  # 执法证件
    LAW_ENFORCEMENT_QUALIFICATION = "law_enforcement_qualification"  # 执法资格


class PenaltyTrigger(enum.StrEnum):
    """When a fine falls due (obligations.md §A.3)."""

    IMMEDIATE = "immediate"
    IMMEDIATE_DISCRETIONARY = "immediate_discretionary"  # 可以
    AFTER_FAILURE_TO_CORRECT = "after_failure_to_correct"  # 逾期不改正 / 拒不改正
    SERIOUS_CIRCUMSTANCES = "serious_circumstances"  # 情节严重
    AMBIGUOUS_IMMEDIATE_OR_ON_REFUSAL = "ambiguous_immediate_or_on_refusal"  # §8 P-02


class ViolationKey(enum.StrEnum):
    """obligations.md §A.4, plus the Decree 799 keys it lacks."""

    FAILURE_TO_INSTALL = "failure_to_install"
    NONSTANDARD_CONSTRUCTION = "nonstandard_construction"
    CAPTURE_OUTSIDE_PREMISES = "capture_outside_premises"
    UNAUTHORIZED_PUBLIC_AREA_SYSTEM = "unauthorized_public_area_system"
    PROHIBITED_LOCATION_INSTALL = "prohibited_location_install"
    PRIVACY_AREA_INSPECTION_FAILURE = "privacy_area_inspection_failure"  # Decree 799 art. 8 ¶2
    SECRET_UNIT_CONSENT_MISSING = "secret_unit_consent_missing"  # noqa: S105 - Decree 799 art. 10
    SIGNAGE_MISSING = "signage_missing"
    FILING_VIOLATION = "filing_violation"
    ARCHIVING_VIOLATION = "archiving_violation"
    CHANGE_REMOVAL_NOT_REPORTED = "change_removal_not_reported"
    NO_RESERVED_INTERFACE = "no_reserved_interface"
    ACCEPTANCE_FAILURE = "acceptance_failure"
    CLASSIFIED_NETWORK_VIOLATION = "classified_network_violation"
    OPERATIONAL_SAFETY_MEASURES_MISSING = "operational_safety_measures_missing"
    INFO_SECURITY_MGMT_VIOLATION = "info_security_mgmt_violation"
    OPERATOR_DUTY_VIOLATION = "operator_duty_violation"
    REFUSE_PROVIDE_IMAGES = "refuse_provide_images"
    OBSTRUCT_AUTHORITY_ACCESS = "obstruct_authority_access"
    OBSTRUCT_INTEGRATION = "obstruct_integration"
    PROHIBITED_ACT = "prohibited_act"
    OFFICIAL_MISCONDUCT = "official_misconduct"


class SignageScope(enum.StrEnum):
    PUBLIC_PLACES = "public_places"  # 在公共场所设置… (Decree 799 art. 13, Beijing, Shaanxi)
    PUBLIC_AREAS = "public_areas"  # 公共区域 (Chongqing, Xi'an)
    GOVERNMENT_INVESTED = "government_invested"  # 政府投资建设的 (Liaoning art. 13)


class PlacementScope(enum.StrEnum):
    """Which site facts put a site under a government-only rule."""

    PUBLIC_ROAD_OR_SQUARE = "public_road_or_square"
    ART7_P1 = "art7_p1"  # Decree 799 art. 7 ¶1 places


class OutsideCaptureStance(enum.StrEnum):
    """A pack's word on units capturing public areas outside their premises (§8 C-10)."""

    SILENT = "silent"
    ENCOURAGED = "encouraged"
    PROHIBITED = "prohibited"


class ReportUrgency(enum.StrEnum):
    """How soon suspicious information goes to the police (operating duties)."""

    PROMPTLY = "promptly"  # 及时 (Beijing, Liaoning, Shaanxi, Chongqing)
    IMMEDIATELY = "immediately"  # 立即 (Xi'an art. 22(9))


class RoomAccessBan(enum.StrEnum):
    """Who may not enter the monitoring room (errata 4 of obligations.md)."""

    WITHOUT_AUTHORISATION = "without_authorisation"  # 不得擅自进入 (Beijing art. 14 ¶2)
    OUTRIGHT = "outright"  # 禁止…进入 (Chongqing art. 20(8), Xi'an art. 22(8))


class TrainingContent(enum.StrEnum):
    """What a training of monitoring and O&M staff covers."""

    SKILLS = "skills"  # 专业技能 / 业务技能 / 岗位技能
    CONFIDENTIALITY = "confidentiality"  # 保密 / 保密知识
    LAW = "law"  # 相关法律、法规 (Liaoning art. 14(1))
    ETHICS = "ethics"  # 思想品德 (Shaanxi art. 16(2))


class MaskTarget(enum.StrEnum):
    """What a copy for public dissemination (公开传播/公共传播) must have masked."""

    FACES = "faces"  # 人脸 (Decree 799 art. 22) / 个体特征 (Xi'an art. 28)
    INDIVIDUAL_FEATURES = "individual_features"  # 个体特征 beyond the face (Xi'an art. 28)
    PLATES = "plates"  # 机动车号牌
    ORGANISATION_NAMES = (
        "organisation_names"  # 法人、非法人组织的名称、营业执照 (Decree 799 art. 22)
    )
