"""The pytest plugin's `ihd` and `cad` fixtures: Type 2 devices on virtual boards (no GBCS
identity, no tunnel) that find the `esme` fixture's meter through the hub; the CAD publishes to
the plugin's `mqtt_broker`."""

import time

import pytest
from smetsbench.mqtt import Watcher

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def _until(check, timeout=20.0):
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)
    return True


def test_ihd_fixture_reads_the_esme_fixture(esme, ihd):
    assert ihd.status()["role"] == "IHD"
    meters = lambda: ihd.status()["device"]["meters"]  # noqa: E731
    # The fixture joins the IHD (CS03B) once it runs: the meter answers its reads from then
    # on, at the IHD's next poll.
    assert _until(lambda: meters().get(esme.eui.hex(), {}).get("kind") == "elec"), meters()
    assert meters()[esme.eui.hex()]["responding"]
    assert ihd.link.control("readings")["elec"]["site"] is not None


def test_cad_fixture_publishes_to_the_broker_fixture(cad, mqtt_broker):
    with Watcher(mqtt_broker.url, "glow/#") as w:
        msg = w.wait_for(lambda m: m.topic.endswith("/STATE"), 20)
    assert msg is not None and msg.json()["hardware"] == "smetsbench-CAD"
    assert cad.status()["device"]["mqtt"]["state"] == "connected"
