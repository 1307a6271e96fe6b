"""Roles and what each may do. Services call ``require`` before acting: hiding a button in the
GUI is a convenience, the check here is the rule."""

from __future__ import annotations

import enum

from clerk_app.domain.case_states import Role  # one role type for the state machines and the services
from clerk_app.i18n import N_, _

__all__ = ["GRANTS", "Permission", "PermissionDenied", "Role", "allows", "require"]


class Permission(enum.StrEnum):
    SERVE = "serve"  # call tickets, take applications, print notices
    SUPERVISE = "supervise"  # 办不成事, rectifications, hall monitor, reports, take over cases
    ADMINISTER = "administer"  # users, windows, catalogue, holidays, central set-up


GRANTS: dict[Role, frozenset[Permission]] = {
    Role.CLERK: frozenset({Permission.SERVE}),
    Role.SUPERVISOR: frozenset({Permission.SERVE, Permission.SUPERVISE}),
    Role.ADMIN: frozenset({Permission.ADMINISTER}),
}

_PERMISSION_LABELS = {
    Permission.SERVE: N_("窗口受理"),
    Permission.SUPERVISE: N_("值班监督"),
    Permission.ADMINISTER: N_("系统管理"),
}


class PermissionDenied(PermissionError):
    """Raised by a service when the signed-in role may not do what was asked."""

    def __init__(self, role: Role, permission: Permission) -> None:
        self.role = role
        self.permission = permission
        super().__init__(
            _("当前身份（{role}）无权进行“{action}”操作。").format(
                role=role.label, action=_(_PERMISSION_LABELS[permission])
            )
        )


def allows(role: Role, permission: Permission) -> bool:
    return permission in GRANTS[role]


def require(role: Role, permission: Permission) -> None:
    if not allows(role, permission):
        raise PermissionDenied(role, permission)
