"""The catalogue of location category keys (obligations.md §A.1, §A.2).

A site is classified once with *mandatory* keys (the kinds of place where some pack requires a
system); a camera is registered with one or more keys for where it looks, mandatory keys and
*prohibited* keys alike. Rule packs may only name keys in this catalogue, and the registry
rejects any other key (:func:`unknown_categories`).

The prohibited keys are finer than §A.2 so that Decree 799 art. 8 can be followed item by item
(fitting rooms, restaurant private rooms and staff rest rooms are named only there). The §A.2
composite ``bath_changing_toilet_nursing`` stays usable: it stands for its four sub-keys.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass


class CategoryKind(enum.StrEnum):
    MANDATORY = "mandatory"
    PROHIBITED = "prohibited"


@dataclass(frozen=True, slots=True)
class CategoryInfo:
    key: str
    label_zh: str
    label_en: str
    kind: CategoryKind


_MANDATORY: tuple[tuple[str, str, str], ...] = (
    (
        "party_government_state_organ",
        "党政机关、国家机关所在地",
        "seat of Party, government or state organs",
    ),
    ("state_secret_site", "涉及国家秘密的场所或者部位", "places or parts involving state secrets"),
    (
        "broadcast_news_media",
        "广播电台、电视台、通讯社、报社",
        "radio, TV, news agencies, newspapers",
    ),
    ("telecom_postal", "电信、邮政", "telecom and postal units or outlets"),
    ("financial_outlet", "金融机构营业场所", "business premises of financial institutions"),
    (
        "vault_cash_securities",
        "金库，货币、有价证券、票据存放场所",
        "vaults; currency/securities stores",
    ),
    ("cash_in_transit_vehicle", "货币押运车辆", "cash-in-transit vehicles"),
    ("financial_data_center", "金融信息的运行、储存场所", "financial information processing sites"),
    ("service_unit", "服务单位", "service units (Beijing)"),
    (
        "museum_archive_heritage",
        "博物馆、档案馆、重点文物保护单位",
        "museums, archives, heritage units",
    ),
    ("exhibition_memorial_hall", "展览馆、纪念馆", "exhibition and memorial halls"),
    ("hazardous_materials", "危险物品研制、生产、销售、储存场所", "hazardous goods sites"),
    ("weapons_ammunition", "武器、弹药的生产、存放场所", "weapons and ammunition sites"),
    ("material_reserve", "重要物资储备场所", "important material reserves"),
    ("exam_paper_facility", "统一考试试卷印刷、存放场所", "exam paper setting, printing, storage"),
    ("logistics_center", "物流中心", "logistics centres"),
    ("utility_supply", "水、电、燃气、热力供应设施", "water, power, gas and heat supply"),
    ("energy_power_facility", "大型能源动力设施", "large energy and power facilities"),
    ("fuel_charging_station", "加油（气）站、充电站", "fuel stations and EV charging stations"),
    ("water_conservancy", "水利设施", "water-conservancy works"),
    ("transport_hub", "机场、港口、车站等交通枢纽", "airports, ports, stations, transport hubs"),
    ("tunnel_bridge", "隧道、大型桥梁", "tunnels and large bridges"),
    (
        "road_key_section_intersection",
        "重点道路、路段和主要交通路口",
        "key roads and intersections",
    ),
    ("underpass_overpass", "地下通道、过街天桥", "underground passages and overpasses"),
    ("city_entrance_exit", "城市主要出入口", "main entrances and exits of the city"),
    ("public_square", "广场", "public squares"),
    ("pedestrian_commercial_street", "步行街、商业街", "pedestrian and commercial streets"),
    ("parking_lot", "停车场（库）", "parking lots and garages"),
    ("police_checkpoint", "区域公安检查站", "regional police checkpoints"),
    ("public_transport_vehicle", "大中型公共交通工具", "large and medium public transport"),
    ("hotel", "宾馆、旅馆", "hotels and guesthouses"),
    # 民宿 (Decree 799 art. 8(1) names it among lodging places); no pack requires a system there,
    # so it classifies a site without making coverage mandatory
    ("homestay", "民宿", "homestays (minsu)"),
    ("restaurant_catering", "饭店、大型餐饮场所", "restaurants and catering places"),
    ("shopping_mall", "商场、商贸中心", "shopping malls, commercial centres"),
    ("market", "农贸市场、大型市场", "farmers' and large markets"),
    ("school", "学校", "schools"),
    ("kindergarten", "幼儿园", "kindergartens"),
    ("hospital", "医院", "hospitals"),
    ("park_scenic_area", "公园、旅游景区", "parks and scenic areas"),
    ("cultural_entertainment_venue", "文化娱乐场所", "cultural and entertainment venues"),
    ("sports_venue", "体育场馆", "stadiums and sports venues"),
    ("residential_community", "住宅区、住宅小区", "residential areas and communities"),
    ("urban_village", "城中村", "urban villages"),
    ("internet_cafe", "互联网上网服务营业场所", "internet-access service premises"),
    ("counter_terrorism_key_target", "防范恐怖袭击的重点目标", "counter-terrorism key targets"),
    ("security_key_unit", "治安保卫重点单位", "key units for public-order protection"),
    ("foreign_related_site", "重要涉外场所", "important foreign-related places"),
    ("high_crime_area", "案件高发区域", "areas with frequent criminal cases"),
    ("complex_public_order_area", "治安复杂场所", "places with complex public order"),
    ("vital_location", "要害部位", "vital parts or locations"),
    ("large_scale_event", "大型群众性活动", "large-scale mass events"),
    ("other_legally_designated", "法律、法规规定的其他场所", "other legally designated places"),
)

_PROHIBITED: tuple[tuple[str, str, str], ...] = (
    (
        "hotel_guest_room",
        "旅馆、宾馆、民宿等的客房",
        "guest rooms of hotels, guesthouses, homestays",
    ),
    ("dining_private_room", "饭店等经营接待食宿场所的包间", "private rooms of restaurants"),
    ("entertainment_private_room", "娱乐场所包房", "private rooms of entertainment venues"),
    ("dormitory", "学生、员工、集体和个人宿舍", "dormitories (student, staff, collective)"),
    ("staff_rest_room", "单位为内部人员提供休息服务的房间", "staff rest rooms"),
    ("public_bath", "公共浴室", "public baths"),
    ("changing_room", "更衣室", "changing rooms"),
    ("toilet", "卫生间", "toilets"),
    ("nursing_room", "哺乳室", "nursing (breast-feeding) rooms"),
    ("fitting_room", "试衣间", "fitting rooms"),
    (
        "bath_changing_toilet_nursing",
        "公共浴室、更衣室、卫生间、哺乳室",
        "baths, changing, toilets, nursing",
    ),
    (
        "financial_client_info_area",
        "可能泄露客户个人信息的金融操作区域",
        "financial client-info areas",
    ),
    ("voting_area", "选举箱、投票点等区域", "ballot boxes and polling points"),
    ("other_privacy", "其他涉及个人隐私的场所和区域", "other places involving personal privacy"),
)

CATEGORY_KEYS: dict[str, CategoryInfo] = {
    key: CategoryInfo(key, zh, en, kind)
    for kind, rows in ((CategoryKind.MANDATORY, _MANDATORY), (CategoryKind.PROHIBITED, _PROHIBITED))
    for key, zh, en in rows
}
"""Every category key Custos knows, with its labels and kind."""

CATEGORY_GROUPS: dict[str, frozenset[str]] = {
    "bath_changing_toilet_nursing": frozenset(
        {"public_bath", "changing_room", "toilet", "nursing_room"}
    ),
}
"""Composite keys (§A.2) and the sub-keys they stand for."""


def unknown_categories(keys: Iterable[str]) -> set[str]:
    """The keys that are not in :data:`CATEGORY_KEYS`."""
    return {key for key in keys if key not in CATEGORY_KEYS}


def expand_categories(keys: Iterable[str]) -> frozenset[str]:
    """The keys with every composite key replaced by its sub-keys."""
    expanded: set[str] = set()
    for key in keys:
        expanded |= CATEGORY_GROUPS.get(key, frozenset({key}))
    return frozenset(expanded)


def is_kind(key: str, kind: CategoryKind) -> bool:
    """True when ``key`` is in the catalogue with this kind."""
    info = CATEGORY_KEYS.get(key)
    return info is not None and info.kind is kind
