"""Queue settings and the glue between the queue service and the domain rules.

The legality of every ticket transition is the ticket state machine's
(``clerk_app.domain.ticket_states``); the service only asks it where an event leads.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, ClassVar

from clerk_app.domain import queue_order as qo
from clerk_app.domain import ticket_states as ts
from clerk_app.domain.case_states import Verdict
from clerk_app.domain.halltime import HALL_TZ

#: China keeps one offset all year (no daylight saving): the service day is its calendar day
CHINA = HALL_TZ
#: states from which "call next" may claim a ticket (parked tickets come back by call_back only)
WAITING_STATES = ("issued", "transferred")


def service_day(at: dt.datetime) -> dt.date:
    """The hall's day of ``at``: ticket numbers restart every day at local midnight."""
    return at.astimezone(CHINA).date()


@dataclass(frozen=True, slots=True)
class QueuePolicy:
    """Hall-wide queue settings, kept centrally in ``settings`` under ``queue.policy``."""

    SETTING_KEY: ClassVar[str] = "queue.policy"

    normal_per_priority: int = 2
    wait_target_minutes: int = 0  # 0: no promotion
    appointment_early_minutes: int = 5
    recall_limit: int = 3
    elderly_age: int = 65

    @property
    def order(self) -> qo.OrderPolicy:
        return qo.OrderPolicy(
            normal_per_priority=self.normal_per_priority,
            wait_target=dt.timedelta(minutes=self.wait_target_minutes) if self.wait_target_minutes else None,
            appointment_early=dt.timedelta(minutes=self.appointment_early_minutes),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "normal_per_priority": self.normal_per_priority,
            "wait_target_minutes": self.wait_target_minutes,
            "appointment_early_minutes": self.appointment_early_minutes,
            "recall_limit": self.recall_limit,
            "elderly_age": self.elderly_age,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> QueuePolicy:
        known = {k: int(v) for k, v in data.items() if k in cls().to_dict()}
        return cls(**known)


def verdict(current: str, event: str, role: str, reason: str = "") -> Verdict[ts.TicketState]:
    """The ticket state machine's answer for ``event`` on a ticket in ``current``."""
    return ts.check(current, event, role, reason)


def target_state(current: str, event: str, role: str = "supervisor", reason: str = "-") -> str | None:
    """Where ``event`` takes a ticket in ``current`` (None when the machine forbids it)."""
    answer = verdict(current, event, role, reason)
    return str(answer.target) if answer.allowed and answer.target is not None else None


#: the demo hall's ticket categories: (code, name, description, mean service minutes)
DEMO_CATEGORIES = (
    ("A", "综合业务", "个人事项综合受理", 8),
    ("B", "企业开办", "设立登记、印章、发票、社保一次办", 15),
    ("C", "不动产登记", "买卖、抵押、继承登记", 20),
    ("D", "社保医保", "参保、转移、待遇申领", 10),
    ("E", "税务事项", "申报、发票、清税", 12),
    ("F", "办不成事反映", "反映办事遇到的难题", 20),
)


def demo_window_categories(window: int) -> tuple[str, ...]:
    """Comprehensive windows take A and one speciality; window 24 is the 办不成事 window."""
    if window == 24:
        return ("F",)
    speciality = "B" if window <= 8 else "C" if window <= 12 else "D" if window <= 18 else "E"
    return ("A", speciality)
