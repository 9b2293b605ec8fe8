"""SQLModel tables, one module per domain; importing this package registers them all."""

from server.models.alarms import Alarm
from server.models.audit import AuditEntry
from server.models.climate import ClimateProfile, ClimateRollup, ClimateSample, RoomClimate
from server.models.copies import CopyCheck, ElectronicCopy
from server.models.description import (
    Fonds,
    FourPropertyCheck,
    ReferenceTemplate,
    RegisterImport,
)
from server.models.devices import Device, DeviceMessage, DeviceReject
from server.models.holdings import Box, Movement, Record
from server.models.lending import (
    DisposalHold,
    DownloadGrant,
    Hold,
    LendingRequest,
    LoanReminder,
    RequestItem,
)
from server.models.loans import Loan
from server.models.news import NewsCursor, OutboxEntry
from server.models.people import User
from server.models.places import Location, Site
from server.models.sessions import SignInSession, SignInThrottle
from server.models.statistics import INDEXES as _STATISTICS_INDEXES  # noqa: F401
from server.models.stocktakes import Stocktake, StocktakeSighting

__all__ = [
    "Alarm",
    "AuditEntry",
    "Box",
    "ClimateProfile",
    "ClimateRollup",
    "ClimateSample",
    "CopyCheck",
    "Device",
    "DeviceMessage",
    "DeviceReject",
    "DisposalHold",
    "DownloadGrant",
    "ElectronicCopy",
    "Fonds",
    "FourPropertyCheck",
    "Hold",
    "LendingRequest",
    "Loan",
    "LoanReminder",
    "Location",
    "Movement",
    "NewsCursor",
    "OutboxEntry",
    "Record",
    "ReferenceTemplate",
    "RegisterImport",
    "RequestItem",
    "RoomClimate",
    "SignInSession",
    "SignInThrottle",
    "Site",
    "Stocktake",
    "StocktakeSighting",
    "User",
]
