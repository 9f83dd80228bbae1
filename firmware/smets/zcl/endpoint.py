"""A HAN endpoint: clusters given as tables, answering the ZCL foundation commands.

A device model describes each cluster it implements as data (ZCL r6 2.3: every cluster has a
server side and a client side, each with its own attributes and commands):

    Cluster(0x0702, server=True, name="Metering", attributes=(
        (0x0000, types.UINT48, meter.summation),                 # read-only
        (0x0300, types.ENUM8, meter.unit, meter.set_unit),        # writable
    ), commands={0x06: meter.get_snapshot})

An attribute row is (id, type, getter[, setter[, reportable]]): the getter takes no argument
and returns the value; the setter takes the value and returns a ZCL status (None = SUCCESS),
e.g. INVALID_VALUE for a value out of range. A command handler takes (cluster, frame, now) and
returns a ZCLFrame (the response), a status (sent as a Default Response, ZCL 2.5.12) or None
(SUCCESS). `Endpoint.handle` picks the side from the frame's direction (client to server: the
server side) and answers Read / Write / Configure Reporting itself with the ZCL status codes;
`Endpoint.reports(now)` gives the Report Attributes the reporting configuration makes due.
Time is passed in (seconds); nothing here does IO.
"""

from smets.zcl import foundation
from smets.zcl.attrs import REPORTABLE, WRITABLE
from smets.zcl.foundation import REPORT_EXPECT, AttributeRecord, StatusRecord
from smets.zcl.frame import (
    CONFIGURE_REPORTING,
    CONFIGURE_REPORTING_RESPONSE,
    DEFAULT_RESPONSE,
    INVALID_DATA_TYPE,
    INVALID_VALUE,
    MALFORMED_COMMAND,
    READ_ATTRIBUTES,
    READ_ATTRIBUTES_RESPONSE,
    READ_ONLY,
    REPORT_ATTRIBUTES,
    SUCCESS,
    TYPE_CLUSTER,
    TYPE_GLOBAL,
    UNREPORTABLE_ATTRIBUTE,
    UNSUP_CLUSTER_COMMAND,
    UNSUP_GENERAL_COMMAND,
    UNSUP_MANUF_CLUSTER_COMMAND,
    UNSUP_MANUF_GENERAL_COMMAND,
    UNSUPPORTED_ATTRIBUTE,
    UNSUPPORTED_CLUSTER,
    WRITE_ATTRIBUTES,
    WRITE_ATTRIBUTES_NO_RESPONSE,
    WRITE_ATTRIBUTES_RESPONSE,
    WRITE_ATTRIBUTES_UNDIVIDED,
    WRITE_ONLY,
    ZCLError,
    ZCLFrame,
)

# Maximum interval 0xFFFF stops periodic reporting of the attribute (ZCL 2.5.7.1.6).
_STOP_REPORTING = 0xFFFF


class Attribute:
    __slots__ = ("get", "id", "reportable", "set", "type")

    def __init__(self, attr_id, ztype, get=None, set=None, reportable=True):
        self.id = attr_id
        self.type = ztype
        self.get = get
        self.set = set
        self.reportable = reportable


class _Reporting:
    """The reporting configuration of one attribute and what was last reported."""

    __slots__ = ("change", "last_time", "last_value", "max_interval", "min_interval")

    def __init__(self, min_interval, max_interval, change):
        self.min_interval = min_interval
        self.max_interval = max_interval
        self.change = change
        self.last_time = None
        self.last_value = None


class Cluster:
    """One side (server or client) of a cluster: attributes and command handlers."""

    def __init__(self, cluster_id, attributes=(), commands=None, server=True, name=None,
                 responses=None):
        self.id = cluster_id
        self.server = server
        self.name = name
        self.attributes = {}
        for row in attributes:
            a = row if isinstance(row, Attribute) else Attribute(*row)
            self.attributes[a.id] = a
        self.commands = commands or {}
        # Handlers of received foundation responses (Read Attributes Response, Report
        # Attributes, ...): (cluster, frame, records, now) -> as a command handler.
        self.responses = responses or {}
        self.reporting = {}  # attribute id -> _Reporting
        self.timeouts = {}  # attribute id -> seconds (reports expected from the peer)

    def attribute(self, attr_id):
        """The Attribute of an id, or None (TableCluster looks it up in an AttrTable)."""
        return self.attributes.get(attr_id)

    # -- foundation commands answered from the table ----------------------------------------
    def read(self, attr_ids):
        out = []
        for attr_id in attr_ids:
            a = self.attribute(attr_id)
            if a is None:
                out.append(AttributeRecord(attr_id, status=UNSUPPORTED_ATTRIBUTE))
            elif a.get is None:
                out.append(AttributeRecord(attr_id, status=WRITE_ONLY))
            else:
                out.append(AttributeRecord(attr_id, a.type, a.get()))
        return out

    def _write_status(self, record):
        a = self.attribute(record.id)
        if a is None:
            return UNSUPPORTED_ATTRIBUTE
        if a.set is None:
            return READ_ONLY
        if record.type != a.type:
            return INVALID_DATA_TYPE
        return SUCCESS

    def write(self, records, undivided=False):
        """[StatusRecord] of the records not written (ZCL 2.5.3.3 / 2.5.4.3)."""
        statuses = [self._write_status(r) for r in records]
        failures = [StatusRecord(s, r.id) for s, r in zip(statuses, records) if s != SUCCESS]
        if undivided and failures:
            return failures  # nothing written: all or none
        for s, r in zip(statuses, records):
            if s != SUCCESS:
                continue
            try:
                status = self.attribute(r.id).set(r.value)
            except ValueError:  # a setter that refuses the value by raising
                status = INVALID_VALUE
            if status is not None and status != SUCCESS:
                failures.append(StatusRecord(status, r.id))
        return failures

    def configure(self, configs):
        failures = []
        for c in configs:
            a = self.attribute(c.attr_id)
            if a is None:
                status = UNSUPPORTED_ATTRIBUTE
            elif c.direction == REPORT_EXPECT:
                self.timeouts[c.attr_id] = c.timeout
                status = SUCCESS
            elif not a.reportable:
                status = UNREPORTABLE_ATTRIBUTE
            elif c.type != a.type:
                status = INVALID_DATA_TYPE
            elif c.max_interval not in (0, _STOP_REPORTING) and c.min_interval > c.max_interval:
                status = INVALID_VALUE
            else:
                if c.max_interval == _STOP_REPORTING:
                    self.reporting.pop(c.attr_id, None)
                else:
                    self.reporting[c.attr_id] = _Reporting(c.min_interval, c.max_interval,
                                                           c.change)
                status = SUCCESS
            if status != SUCCESS:
                failures.append(StatusRecord(status, c.attr_id, c.direction))
        return failures

    def due(self, now):
        """Records of the attributes whose report is due at `now` (ZCL 2.5.11.2.2: at the
        maximum interval, or on a change of at least the reportable change once the minimum
        interval has passed); marks them reported."""
        out = []
        for attr_id, rep in self.reporting.items():
            a = self.attribute(attr_id)
            value = a.get()
            last = rep.last_time
            if last is None:
                send = True
            else:
                age = now - last
                send = rep.max_interval and age >= rep.max_interval
                if not send and age >= rep.min_interval and value != rep.last_value:
                    if isinstance(value, int) and rep.change:
                        send = abs(value - rep.last_value) >= rep.change
                    else:
                        send = True
            if send:
                rep.last_time = now
                rep.last_value = value
                out.append(AttributeRecord(attr_id, a.type, value))
        return out


class TableCluster(Cluster):
    """One side of a cluster whose attributes live in an AttrTable (smets.zcl.attrs): a device
    model's attributes as one bytearray rather than an object each. `writable` lets Write
    Attributes change the attributes whose row is flagged writable; `on_write(cluster id,
    attribute id, value)` may refuse a value with a ZCL status."""

    def __init__(self, cluster_id, table, commands=None, server=True, name=None,
                 responses=None, on_write=None):
        Cluster.__init__(self, cluster_id, (), commands, server, name, responses)
        self.table = table
        self.on_write = on_write

    def attribute(self, attr_id):
        t = self.table
        row = t.find(self.id, attr_id)
        if row < 0:
            return None
        setter = None
        if t.flags(row) & WRITABLE:
            def setter(value):
                if self.on_write is not None:
                    status = self.on_write(self.id, attr_id, value)
                    if status:
                        return status
                return t.put(row, value)
        return Attribute(attr_id, t.type(row), lambda: t.get(row), setter,
                         bool(t.flags(row) & REPORTABLE))


class Endpoint:
    """The clusters of one endpoint (both sides), and the foundation command dispatcher."""

    def __init__(self, number=1, clusters=(), profile=0x0109):
        self.number = number
        self.profile = profile
        self._clusters = {}
        for c in clusters:
            self.add(c)
        self._seq = 0

    def add(self, cluster):
        self._clusters[(cluster.id, cluster.server)] = cluster
        return cluster

    def cluster(self, cluster_id, server=True):
        return self._clusters.get((cluster_id, server))

    def clusters(self):
        return list(self._clusters.values())

    def next_seq(self):
        self._seq = (self._seq + 1) & 0xFF
        return self._seq

    def handle(self, cluster_id, frame, now=0):
        """The response to a received ZCL frame (ZCLFrame or bytes), as a ZCLFrame, or None."""
        if not isinstance(frame, ZCLFrame):
            try:
                frame = ZCLFrame.from_bytes(frame)
            except ZCLError:
                return None  # not a ZCL frame: nothing to answer (no sequence number)
        # A client-to-server frame is for the server side (ZCL 2.4.1.1.3).
        cluster = self.cluster(cluster_id, not frame.server_to_client)
        if cluster is None:
            return self._status(frame, UNSUPPORTED_CLUSTER)
        if frame.manufacturer is not None:
            return self._status(frame, UNSUP_MANUF_GENERAL_COMMAND
                                if frame.frame_type == TYPE_GLOBAL
                                else UNSUP_MANUF_CLUSTER_COMMAND)
        if frame.frame_type == TYPE_CLUSTER:
            handler = cluster.commands.get(frame.command)
            if handler is None:
                return self._status(frame, UNSUP_CLUSTER_COMMAND)
            try:
                return self._result(frame, handler(cluster, frame, now))
            except ZCLError:
                return self._status(frame, MALFORMED_COMMAND)
        return self._foundation(cluster, frame, now)

    def _foundation(self, cluster, frame, now):
        cmd = frame.command
        if cmd == DEFAULT_RESPONSE:
            handler = cluster.responses.get(cmd)
            if handler is not None:
                try:
                    handler(cluster, frame, foundation.decode(cmd, frame.payload), now)
                except ZCLError:
                    pass
            return None  # never answer a Default Response (ZCL 2.5.12.2)
        if not foundation.supported(cmd):
            return self._status(frame, UNSUP_GENERAL_COMMAND)
        try:
            records = foundation.decode(cmd, frame.payload)
        except ZCLError:
            return self._status(frame, MALFORMED_COMMAND)
        if cmd == READ_ATTRIBUTES:
            return self._reply(frame, READ_ATTRIBUTES_RESPONSE, foundation.encode(
                READ_ATTRIBUTES_RESPONSE, cluster.read(records)))
        if cmd in (WRITE_ATTRIBUTES, WRITE_ATTRIBUTES_UNDIVIDED, WRITE_ATTRIBUTES_NO_RESPONSE):
            failures = cluster.write(records, undivided=cmd == WRITE_ATTRIBUTES_UNDIVIDED)
            if cmd == WRITE_ATTRIBUTES_NO_RESPONSE:
                return None  # ZCL 2.5.6.3: no response of any kind
            return self._reply(frame, WRITE_ATTRIBUTES_RESPONSE, foundation.encode(
                WRITE_ATTRIBUTES_RESPONSE, failures))
        if cmd == CONFIGURE_REPORTING:
            return self._reply(frame, CONFIGURE_REPORTING_RESPONSE, foundation.encode(
                CONFIGURE_REPORTING_RESPONSE, cluster.configure(records)))
        # A response or report from the peer: the cluster's handler, if it has one.
        handler = cluster.responses.get(cmd)
        if handler is None:
            return self._result(frame, None)
        return self._result(frame, handler(cluster, frame, records, now))

    def _reply(self, frame, command, payload):
        return ZCLFrame(command, payload, frame_type=TYPE_GLOBAL,
                        server_to_client=not frame.server_to_client,
                        disable_default_response=True, seq=frame.seq)

    def _result(self, frame, result):
        if isinstance(result, ZCLFrame):
            return result
        return self._status(frame, SUCCESS if result is None else result)

    def _status(self, frame, status):
        # ZCL 2.5.12.2: a Default Response reports an error whatever the frame's disable
        # default response bit says; a success only when the bit is clear.
        if frame.frame_type == TYPE_GLOBAL and frame.command == DEFAULT_RESPONSE:
            return None
        if status == SUCCESS and frame.disable_default_response:
            return None
        return frame.default_response(status)

    def reports(self, now):
        """[(cluster id, ZCLFrame)] of the Report Attributes due at `now`."""
        out = []
        for c in self._clusters.values():
            if not c.reporting:
                continue
            records = c.due(now)
            if records:
                # A server reports to the client side and a client to the server side.
                out.append((c.id, ZCLFrame(
                    REPORT_ATTRIBUTES, foundation.encode(REPORT_ATTRIBUTES, records),
                    frame_type=TYPE_GLOBAL, server_to_client=c.server,
                    disable_default_response=True, seq=self.next_seq())))
        return out

