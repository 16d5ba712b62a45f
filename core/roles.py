"""Roles and the level of region each one's scope is (a person's ``region_id`` is the scope)."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    SECRETARY = "secretary"  # 第一书记
    TEAM_MEMBER = "team_member"  # 驻村工作队员
    VILLAGE_CADRE = "village_cadre"  # 村干部
    TOWNSHIP_STAFF = "township_staff"  # 乡镇干部
    COUNTY_STAFF = "county_staff"  # 县级工作人员
    ADMIN = "admin"


class Level(StrEnum):
    COUNTY = "county"
    TOWNSHIP = "township"
    VILLAGE = "village"


ROLES: tuple[str, ...] = tuple(r.value for r in Role)
ROLE_ZH = {
    Role.SECRETARY: "第一书记",
    Role.TEAM_MEMBER: "驻村工作队员",
    Role.VILLAGE_CADRE: "村干部",
    Role.TOWNSHIP_STAFF: "乡镇干部",
    Role.COUNTY_STAFF: "县级工作人员",
    Role.ADMIN: "管理员",
}
VILLAGE_ROLES = frozenset({Role.SECRETARY, Role.TEAM_MEMBER, Role.VILLAGE_CADRE})
STAFF_ROLES = frozenset({Role.TOWNSHIP_STAFF, Role.COUNTY_STAFF, Role.ADMIN})
COUNTY_ROLES = frozenset({Role.COUNTY_STAFF, Role.ADMIN})
# The level of region each role's scope must be.
ROLE_LEVEL = {
    Role.SECRETARY: Level.VILLAGE,
    Role.TEAM_MEMBER: Level.VILLAGE,
    Role.VILLAGE_CADRE: Level.VILLAGE,
    Role.TOWNSHIP_STAFF: Level.TOWNSHIP,
    Role.COUNTY_STAFF: Level.COUNTY,
    Role.ADMIN: Level.COUNTY,
}
# The roles each role may invite and manage within its own region (县乡工作台 人员): staff manage
# the people below them and their peers; only an administrator manages administrators.
MANAGES: dict[str, frozenset[Role]] = {
    Role.ADMIN: frozenset(Role),
    Role.COUNTY_STAFF: frozenset(Role) - {Role.ADMIN},
    Role.TOWNSHIP_STAFF: VILLAGE_ROLES | {Role.TOWNSHIP_STAFF},
}


def manages(actor_role: str, role: str) -> bool:
    return role in MANAGES.get(actor_role, frozenset())
