"""The arrangements policy: the rules billing operations set for plans and extensions, from a
versioned YAML file, checked when Settle starts."""
from __future__ import annotations

import os
from decimal import Decimal
from functools import lru_cache
from pathlib import Path

import yaml
from pydantic import BaseModel, Field, ValidationError, root_validator, validator

DEFAULT_POLICY_FILE = "policy/arrangements.yml"


class PolicyError(ValueError):
    """The policy file is missing or has a wrong value; the message says which and where."""


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


def load_policy(path: str | Path | None = None) -> ArrangementPolicy:
    """Reads and checks the policy file (SETTLE_POLICY_FILE, or policy/arrangements.yml)."""
    path = Path(path or os.environ.get("SETTLE_POLICY_FILE") or DEFAULT_POLICY_FILE)
    try:
        raw = yaml.safe_load(path.read_text())
    except OSError as error:
        raise PolicyError(f"{path}: can't read the policy file ({error.strerror})") from None
    except yaml.YAMLError as error:
        raise PolicyError(f"{path}: not valid YAML ({error})") from None
    try:
        return ArrangementPolicy.parse_obj(raw or {})
    except ValidationError as error:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'] if p != '__root__')}: {e['msg']}" for e in error.errors())
        raise PolicyError(f"{path}: {problems}") from None


@lru_cache(maxsize=4)
def policy_at(path: str) -> ArrangementPolicy:
    """The policy at a path, read once per process."""
    return load_policy(path)


def current_policy() -> ArrangementPolicy:
    return policy_at(os.environ.get("SETTLE_POLICY_FILE") or DEFAULT_POLICY_FILE)
