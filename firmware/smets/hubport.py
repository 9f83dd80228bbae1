"""The HAN interface of a function that runs inside the Communications Hub (the GPF): its APS
frames cross the link as they are (smets.han layout). They never go on the air: the hub's PAN
coordinator and trust center (smets.zigbee.coordinator) secures what the hub sends on for it,
under the hub's own address (ZSE D.3.4: a meter's mirror is an endpoint of the hub). The same
calls as smets.zigbee.stack.HanStack, which a device on the air runs. A module of its own: only
a hub function's board loads it.
"""

from smets.han import ApsFrame, HANError


class HubPort:
    """A hub function's APS frames in and out (see the module docstring)."""

    joined = True

    def __init__(self, log=None):
        self._log = log
        self.out = []
        self.stats = {"rx": 0, "tx": 0, "bad_frames": 0}

    def receive(self, data, now):
        self.stats["rx"] += 1
        try:
            return [ApsFrame.from_bytes(data)]
        except HANError as exc:
            self.stats["bad_frames"] += 1
            if self._log:
                self._log("W", "bad HAN frame from the hub: %s" % exc)
            return []

    def send(self, aps, now):
        self.stats["tx"] += 1
        self.out.append(aps.to_bytes())

    def take(self):
        out, self.out = self.out, []
        return out

    def tick(self, now):
        pass

    def next_due(self, now):
        return None

    def status(self):
        st = {"state": "in the hub"}
        st.update(self.stats)
        return st

    def save(self):
        pass

    def shutdown(self):
        pass
