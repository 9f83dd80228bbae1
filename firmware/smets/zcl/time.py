"""The ZCL Time cluster (0x000A, ZCL r7 3.12): the Communications Hub is the SMHAN's time source.

Attributes (3.12.2.2): Time (UTCTime, seconds since 2000-01-01 UTC), TimeStatus (map8: bit 0
Master, bit 1 Synchronized, bit 2 MasterZoneDst, bit 3 Superseding), TimeZone (int32, s),
DstStart / DstEnd (uint32, UTC seconds since 2000), DstShift (int32, s), StandardTime and
LocalTime (uint32), LastSetTime and ValidUntilTime (UTCTime).

TimeStatus of the hub: Master (it is the HAN's master clock); Superseding (ZigBee SE 1.4 5.8.1:
a device takes its time from the server with Superseding set, the ESI / Communications Hub,
over any other); MasterZoneDst (it also gives the time zone and daylight saving rules: GB, UTC+0
with British Summer Time from 01:00 UTC on the last Sunday of March to 01:00 UTC on the last
Sunday of October); Synchronized only while its clock is synchronised to the WAN (GBCS: the
CHF takes UTC from the DCC; a device must not adopt an unsynchronised hub time).
"""

from smets.codec import civil_from_days, days_from_civil
from smets.zcl import types
from smets.zcl.endpoint import Cluster

CLUSTER = 0x000A
EPOCH_2000 = types.UTC_EPOCH_OFFSET
MASTER = 0x01
SYNCHRONIZED = 0x02
MASTER_ZONE_DST = 0x04
SUPERSEDING = 0x08
_DAY = 86400
_HOUR = 3600


def last_sunday(year, month):
    """Unix time of 00:00 UTC on the last Sunday of a month."""
    nxt = days_from_civil(year + (month == 12), month % 12 + 1, 1)
    day = nxt - 1
    # 1970-01-01 was a Thursday: (days + 4) % 7 == 0 on a Sunday.
    day -= (day + 4) % 7
    return day * _DAY


def gb_dst(now):
    """(start, end) unix times of British Summer Time in the year of `now`: 01:00 UTC on the
    last Sundays of March and October (The Summer Time Order 2002)."""
    year = civil_from_days(now // _DAY)[0]
    return last_sunday(year, 3) + _HOUR, last_sunday(year, 10) + _HOUR


class TimeServer:
    """The hub's Time cluster server; `at(now)` sets the time the attributes are read at."""

    def __init__(self, synchronized=True, time_zone=0, dst_shift=_HOUR, last_set=None):
        self.now = 0
        self.synchronized = synchronized
        self.time_zone = time_zone
        self.dst_shift = dst_shift
        self.last_set = last_set

    def at(self, now):
        self.now = int(now)
        if self.last_set is None:
            self.last_set = self.now
        return self

    def status(self):
        s = MASTER | MASTER_ZONE_DST | SUPERSEDING
        return s | SYNCHRONIZED if self.synchronized else s

    def _utc(self, t):
        return max(0, t - EPOCH_2000)

    def local(self):
        start, end = gb_dst(self.now)
        std = self.now + self.time_zone
        return std + (self.dst_shift if start <= self.now < end else 0)

    def cluster(self):
        dst = lambda i: self._utc(gb_dst(self.now)[i])  # noqa: E731
        return Cluster(CLUSTER, name="Time", attributes=(
            (0x0000, types.UTC_TIME, lambda: self._utc(self.now)),
            (0x0001, types.MAP8, self.status),
            (0x0002, types.INT32, lambda: self.time_zone),
            (0x0003, types.UINT32, lambda: dst(0)),
            (0x0004, types.UINT32, lambda: dst(1)),
            (0x0005, types.INT32, lambda: self.dst_shift),
            (0x0006, types.UINT32, lambda: self._utc(self.now + self.time_zone)),
            (0x0007, types.UINT32, lambda: self._utc(self.local())),
            (0x0008, types.UTC_TIME, lambda: self._utc(self.last_set or self.now)),
            (0x0009, types.UTC_TIME, lambda: 0xFFFFFFFF),
        ))
