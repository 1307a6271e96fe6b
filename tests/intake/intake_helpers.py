"""Helpers of the intake tests (not a test module): sessions, an applicant, materials all
received, and sample values for the matter-specific fields."""

from __future__ import annotations

import uuid

from hall_helpers import _CALENDAR, _CATALOGUE, ACCEPTED_AT, CST, FOOD_LICENCE, VALID_CREDIT, VALID_ID, Clock

from clerk_app.domain.catalogue import FieldType
from clerk_app.security.roles import Role
from clerk_app.services.auth import UserSession
from clerk_app.services.intake import ApplicantIn, IntakeService, MaterialIn, MaterialState, extra_fields_of

__all__ = [
    "ACCEPTED_AT",
    "BAD_CHECK_ID",
    "CST",
    "FOOD_LICENCE",
    "RESTAURANT_BUNDLE",
    "SOLE_TRADER",
    "VALID_CREDIT",
    "VALID_ID",
    "_CALENDAR",
    "_CATALOGUE",
    "Clock",
    "all_received",
    "make_session",
    "person",
    "sample_extras",
]  # fmt: skip

SOLE_TRADER = "113501000300100158000105004000004"  # 个体工商户设立登记, 即办件
RESTAURANT_BUNDLE = "YJS-003"  # 开餐馆
BAD_CHECK_ID = "110105194912310021"


def make_session(role: Role = Role.CLERK, window: int | None = 7, name: str = "王晓燕") -> UserSession:
    return UserSession(uuid.uuid4(), "wangxy", name, role, window, "示范政务服务中心")


def person(**changes: str) -> ApplicantIn:
    base = {
        "name": "张三",
        "id_type": "111",
        "id_number": VALID_ID,
        "phone": "138 0013 8000",
        "address": "福州市鼓楼区",
    }
    base.update(changes)
    return ApplicantIn(**base)


def all_received(service: IntakeService, codes: tuple[str, ...], bundle: str = "") -> tuple[MaterialIn, ...]:
    return tuple(MaterialIn(m.key, MaterialState.RECEIVED) for m in service.materials_for(codes, bundle))


def sample_extras(codes: tuple[str, ...], bundle: str = "") -> tuple[tuple[str, str], ...]:
    """A valid value for every required matter-specific field of ``codes`` (and the bundle)."""
    samples = {
        FieldType.CHOICE: "",
        FieldType.NUMBER: "10",
        FieldType.DATE: "2025-10-08",
        FieldType.TEXT: "示例",
    }
    chosen = list(_CATALOGUE.bundle(bundle).matter_codes) if bundle else []
    chosen.extend(codes)
    return tuple(
        (f.name, f.choices[0] if f.type is FieldType.CHOICE else samples[f.type])
        for f in extra_fields_of(_CATALOGUE.matter(code) for code in chosen)
        if f.required
    )
