"""SQLModel tables, one module per domain; importing this package registers them all."""

from server.models.alarms import Alarm
from server.models.audit import AuditEntry
from server.models.climate import ClimateSample
from server.models.copies import CopyCheck, ElectronicCopy
from server.models.devices import Device, DeviceMessage, DeviceReject
from server.models.holdings import Box, Movement, Record
from server.models.loans import Loan
from server.models.news import NewsCursor, OutboxEntry
from server.models.people import User
from server.models.places import Location, Site
from server.models.statistics import INDEXES as _STATISTICS_INDEXES  # noqa: F401

__all__ = ["Alarm", "AuditEntry", "Box", "ClimateSample", "CopyCheck", "Device", "DeviceMessage", "DeviceReject", "ElectronicCopy",
           "Loan", "Location", "Movement", "NewsCursor", "OutboxEntry", "Record", "Site", "User"]
