"""The arrangements policy: the rules billing operations set for plans and extensions, from a
versioned YAML file, checked when Settle starts."""
from __future__ import annotations

import re
from datetime import time
from decimal import Decimal
from functools import lru_cache
from pathlib import Path

import yaml
from pydantic import BaseModel, Field, ValidationError, root_validator, validator

from settle.errors import PolicyError

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
CHANNELS = ("chat", "email", "sms")



class AmountBand(BaseModel):
    up_to: Decimal | None = Field(None, description="the band's upper amount in euros, inclusive; null for no limit")
    min_months: int = Field(..., ge=2, le=60)
    max_months: int = Field(..., ge=2, le=60)

    @root_validator(skip_on_failure=True)
    def _months_in_order(cls, values):
        if values["min_months"] > values["max_months"]:
            raise ValueError("min_months is larger than max_months")
        return values

    class Config:
        extra = "forbid"


class PlanRules(BaseModel):
    minimum_open_amount: Decimal = Field(..., ge=0)
    months_by_amount: list[AmountBand] = Field(..., min_items=1)
    no_broken_plan_within_months: int = Field(..., ge=0)
    max_active_plans: int = Field(..., ge=1)
    broken_after_days_late: int = Field(..., ge=1)
    latest_start_in_days: int = Field(..., ge=0, le=90)

    @validator("months_by_amount")
    def _bands_in_order(cls, bands):
        limits = [band.up_to for band in bands]
        if limits[-1] is not None:
            raise ValueError("the last band needs up_to: null, so every amount has a band")
        if None in limits[:-1] or limits[:-1] != sorted(limits[:-1]):
            raise ValueError("bands must go from the smallest up_to to the largest, ending with null")
        return bands

    def band_for(self, amount: Decimal) -> AmountBand:
        """The months allowed for a plan of this amount."""
        return next(band for band in self.months_by_amount if band.up_to is None or amount <= band.up_to)

    class Config:
        extra = "forbid"


class ExtensionRules(BaseModel):
    max_days: int = Field(..., ge=1, le=90)
    not_beyond_days_overdue: int = Field(..., ge=0)

    class Config:
        extra = "forbid"


class ArrangementPolicy(BaseModel):
    version: int = Field(..., ge=1)
    instalment_plan: PlanRules
    extension: ExtensionRules

    class Config:
        extra = "forbid"


class Stage(BaseModel):
    name: str = Field(..., regex=r"^[a-z][a-z_]*$")
    offset_days: int = Field(..., ge=-30, le=120)
    response: str = Field(..., regex=r"^utter_[a-z_]+$")
    #: The same stage's text for a customer with several open bills: one message names them all.
    several_bills_response: str | None = Field(None, regex=r"^utter_[a-z_]+$")
    only_if_opted_in: bool = False
    flag_for_review: bool = False
    #: The formal notice before any further step about an unpaid bill: still sent, by e-mail, to a customer who
    #: opted out of every channel (docs/reminders-opt-out.md).
    formal_notice: bool = False

    class Config:
        extra = "forbid"


class ChannelRules(BaseModel):
    fallback_order: list[str] = Field(..., min_items=1)
    attempts_per_channel: int = Field(..., ge=1, le=10)
    retry_after_minutes: list[int] = Field(..., min_items=1)

    @validator("fallback_order")
    def _known_channels(cls, channels):
        unknown = [c for c in channels if c not in CHANNELS]
        if unknown or len(set(channels)) != len(channels):
            raise ValueError(f"use each of {', '.join(CHANNELS)} at most once")
        return channels

    class Config:
        extra = "forbid"


class QuietHours(BaseModel):
    start: time
    end: time

    @validator("start", "end", pre=True)
    def _hh_mm(cls, value):
        if not isinstance(value, str) or not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", value):
            raise ValueError("write the time as HH:MM, e.g. \"20:00\"")
        return value


class ReminderPolicy(BaseModel):
    version: int = Field(..., ge=1)
    stages: list[Stage] = Field(..., min_items=1)
    instalment_stages: list[Stage] = Field(default_factory=list)
    channels: ChannelRules
    quiet_hours: QuietHours
    quiet_days: list[str] = Field(default_factory=list)
    hardship_pause_days: int = Field(..., ge=0)

    @validator("stages", "instalment_stages")
    def _ordered_and_unique(cls, stages):
        if [s.offset_days for s in stages] != sorted({s.offset_days for s in stages}):
            raise ValueError("stages must be in order of offset_days, each offset once")
        return stages

    @validator("stages")
    def _several_bills_wording(cls, stages):
        missing = [s.name for s in stages if s.several_bills_response is None]
        if missing:
            raise ValueError(f"give each bill stage a several_bills_response (missing for {', '.join(missing)})")
        return stages

    @validator("quiet_days")
    def _weekdays(cls, days):
        wrong = [day for day in days if day not in WEEKDAYS]
        if wrong:
            raise ValueError(f"not a weekday: {', '.join(wrong)} (use {', '.join(WEEKDAYS)})")
        return days

    @root_validator(skip_on_failure=True)
    def _stage_names_unique(cls, values):
        names = [s.name for s in values["stages"] + values["instalment_stages"]]
        if len(names) != len(set(names)):
            raise ValueError("stage names must be unique")
        return values

    class Config:
        extra = "forbid"


#: The near-domain requests Settle sends elsewhere, each an intent `redirect_<topic>` with its own answer.
REDIRECT_TOPICS = ("outage", "moving_house", "meter_reading", "contract_change", "solar_and_heat_pump",
                   "direct_debit", "change_details")


class RedirectTopic(BaseModel):
    phone: str = Field(..., min_length=3, description="the number customers call about this")
    web_page: str | dict[str, str] = Field(..., description="one address, or one per language with en as the fallback")
    emergency_phone: str | None = Field(None, min_length=3, description="said first, before anything else")

    @validator("web_page")
    def _english_page(cls, page):
        if isinstance(page, dict) and "en" not in page:
            raise ValueError("give an 'en' page: it is shown when there is none in the customer's language")
        return page

    def page_in(self, language: str) -> str:
        """The web page in the customer's language, else the English one."""
        if isinstance(self.web_page, str):
            return self.web_page
        return self.web_page.get(language) or self.web_page["en"]

    class Config:
        extra = "forbid"


class RedirectPolicy(BaseModel):
    """Where to send customers for what Settle does not handle (policy/redirects.yml)."""

    version: int = Field(..., ge=1)
    topics: dict[str, RedirectTopic]

    @validator("topics")
    def _every_topic(cls, topics):
        missing = [topic for topic in REDIRECT_TOPICS if topic not in topics]
        unknown = [topic for topic in topics if topic not in REDIRECT_TOPICS]
        if missing:
            raise ValueError(f"missing: {', '.join(missing)}")
        if unknown:
            raise ValueError(f"not a topic Settle knows: {', '.join(unknown)} (use {', '.join(REDIRECT_TOPICS)})")
        return topics

    class Config:
        extra = "forbid"


def load_reminder_policy(path: str | Path) -> ReminderPolicy:
    """Reads and checks the reminder policy file (Settings.reminder_policy_file)."""
    return _load(Path(path), ReminderPolicy)


def load_policy(path: str | Path) -> ArrangementPolicy:
    """Reads and checks the arrangements policy file (Settings.policy_file)."""
    return _load(Path(path), ArrangementPolicy)


def load_redirects(path: str | Path) -> RedirectPolicy:
    """Reads and checks the redirects file (Settings.redirects_file)."""
    return _load(Path(path), RedirectPolicy)


def _load(path: Path, model):
    """A policy file parsed and checked, or PolicyError naming the file and the wrong values."""
    try:
        raw = yaml.safe_load(path.read_text())
    except OSError as error:
        raise PolicyError(f"{path}: can't read the policy file ({error.strerror})") from None
    except yaml.YAMLError as error:
        raise PolicyError(f"{path}: not valid YAML ({error})") from None
    try:
        return model.parse_obj(raw or {})
    except ValidationError as error:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'] if p != '__root__')}: {e['msg']}" for e in error.errors())
        raise PolicyError(f"{path}: {problems}") from None


@lru_cache(maxsize=4)
def policy_at(path: str) -> ArrangementPolicy:
    """The arrangements policy at a path, read once per process."""
    return load_policy(path)


@lru_cache(maxsize=4)
def reminder_policy_at(path: str) -> ReminderPolicy:
    """The reminder policy at a path, read once per process."""
    return load_reminder_policy(path)


@lru_cache(maxsize=4)
def redirects_at(path: str) -> RedirectPolicy:
    """Where to send customers for other questions, read once per process."""
    return load_redirects(path)
