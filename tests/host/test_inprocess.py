"""In-process boards: the firmware core inside the host, for fleets. Same frames, same checks."""

from smets import link
from smetsbench.cli import demo
from smetsbench.session import Bench


def test_an_inprocess_esme_passes_the_demo_script(tmp_path):
    with Bench(work_dir=tmp_path) as bench:
        esme = bench.add_inprocess("ESME", init={"mpan_import": "1312345678111",
                                                 "power_w": 500})
        results = demo.run_script(bench, esme, out=lambda *a: None)
        assert [r.report() for r in results if not r.passed] == []
        # It spoke the serial link's frames, both ways.
        kinds = {(rec.direction, rec.type) for rec in esme.link.history}
        assert {(">", link.HAN), ("<", link.HAN), (">", link.CONTROL),
                ("<", link.CONTROL)} <= kinds


def test_a_fleet_keeps_each_meter_to_itself(tmp_path):
    with Bench(work_dir=tmp_path) as bench:
        fleet = [bench.add_inprocess("ESME", eui="00db1234%08x" % (0x56780000 + i),
                                     init={"mpan_import": "1312345678111"})
                 for i in range(25)]
        assert len({d.eui for d in fleet}) == 25
        for i, dev in enumerate(fleet):
            res = bench.run(dev, "ECS39a", mpan="13123456%05d" % i)
            assert res.passed, res.report()
        for i, dev in enumerate(fleet):
            res = bench.run(dev, "ECS40", mpan="13123456%05d" % i)
            assert res.passed, res.report()
        # Security checks run per meter too: a tampered command is refused, with its alert.
        res = bench.run(fleet[3], "ECS52", scenario="BAD_MAC", tamper="bad_mac")
        assert res.passed, res.report()


def test_a_refused_provisioning_leaves_the_meter_as_it_was(tmp_path):
    import pytest
    from smetsbench.boards.transport import BoardError
    from smetsbench.session import device_identity

    with Bench(work_dir=tmp_path) as bench:
        esme = bench.add_inprocess("ESME", init={"mpan_import": "1312345678111"})
        assert bench.run(esme, "ECS39a", mpan="1312345678222").passed
        assert bench.run(esme, "ECS52").passed
        identity = device_identity(esme.role, esme.eui, esme.ka_key, esme.ds_key,
                                   bench.hub.eui, bench.dcc)
        with pytest.raises(BoardError, match="mpan_import must be 13 digits"):
            esme.link.control("provision", identity=identity, init={"mpan_import": "12"})
        bad = dict(identity, ka_key="00")
        with pytest.raises(BoardError, match="ka_key"):
            esme.link.control("provision", identity=bad)
        # Registers, counters and the security log are the ones from before.
        assert bench.run(esme, "ECS40", mpan="1312345678222").passed
        res = bench.run(esme, "ECS52", scenario="REPLAY", tamper="replay")
        assert res.passed, res.report()
        assert esme.link.control("status")["device"]["security_log"] == 1


def test_a_provisioning_that_fails_midway_puts_the_old_security_back(tmp_path, monkeypatch):
    import pytest
    from smets.devices import esme as esme_mod
    from smetsbench.boards.transport import BoardError
    from smetsbench.session import device_identity

    with Bench(work_dir=tmp_path) as bench:
        esme = bench.add_inprocess("ESME", init={"mpan_import": "1312345678111"})
        assert bench.run(esme, "ECS52").passed
        identity = device_identity(esme.role, esme.eui, esme.ka_key, esme.ds_key,
                                   bench.hub.eui, bench.dcc)
        real_init = esme_mod.ESME.__init__

        def runs_out_of_memory(self, *args, **kw):
            real_init(self, *args, **kw)  # the new device has wiped the old records by now
            if kw.get("fresh"):
                raise MemoryError("building the new device")

        monkeypatch.setattr(esme_mod.ESME, "__init__", runs_out_of_memory)
        with pytest.raises(BoardError, match="MemoryError"):
            esme.link.control("provision", identity=identity, init={})
        monkeypatch.setattr(esme_mod.ESME, "__init__", real_init)
        names = esme.link.node.store.names()
        assert "provisioning" not in names and not any(n.startswith("kept-") for n in names)
        # The old meter's registers are back too (the new device had written its own).
        assert bench.run(esme, "ECS40", mpan="1312345678111").passed
        res = bench.run(esme, "ECS52", scenario="REPLAY", tamper="replay")
        assert res.passed, res.report()
        assert esme.link.control("status")["device"]["security_log"] == 1


def test_a_provisioning_cut_by_a_reset_is_finished_at_boot(tmp_path):
    from smets.node import Node
    from smets.store import Store
    from smetsbench.session import device_identity

    with Bench(work_dir=tmp_path) as bench:
        esme = bench.add_inprocess("ESME", init={"mpan_import": "1312345678111"})
        identity = device_identity(esme.role, esme.eui, esme.ka_key, esme.ds_key,
                                   bench.hub.eui, bench.dcc)
        store = Store(str(tmp_path / "cut"))
        store.save("identity", dict(identity, eui="00db1234567890ff"))
        store.save("provisioning", {"identity": identity, "init": {"power_w": 7}})
        node = Node({"name": "t"}, store, 0)
        assert node.identity["eui"] == identity["eui"] and node.device is not None
        assert store.load("identity")["eui"] == identity["eui"]
        assert store.load("provisioning") is None
        assert node.device.state["power_w"] == 7


def test_certificates_refuses_what_is_not_a_der_certificate(tmp_path):
    import base64

    import pytest
    from smetsbench.boards.transport import BoardError

    with Bench(work_dir=tmp_path) as bench:
        esme = bench.add_inprocess("ESME")
        good = base64.b64encode(b"\x30\x03\x02\x01\x05").decode()
        for bad in ("!!!", base64.b64encode(b"\x04\x01\x00").decode(),
                    base64.b64encode(b"\x30\x05\x02\x01").decode()):
            with pytest.raises(BoardError, match="not base64 of a DER SEQUENCE"):
                esme.link.control("certificates", put={"ok": good, "bad": bad})
        assert "ok" not in esme.link.control("certificates")  # none stored from a bad request
        assert "ok" in esme.link.control("certificates", put={"ok": good})


def test_a_reset_keeps_the_registers_run_on_since_the_last_save(tmp_path):
    from smets.node import Node
    from smets.store import Store

    with Bench(work_dir=tmp_path) as bench:
        esme = bench.add_inprocess("ESME", init={"power_w": 3600})
        node = esme.link.node
        node.clock.set(1800000000, 0, 1)  # on a half-hour: nothing captured for 20 minutes
        node.tick(0)
        base = node.device.state["import_ws"]
        node.tick(20 * 60 * 1000)
        run_on = node.device.state["import_ws"]
        assert run_on == base + 3600 * 20 * 60
        assert node.store.load("esme")["import_ws"] < run_on  # only in RAM so far
        node._op_reset({}, 20 * 60 * 1000)
        after = Node({"name": "t"}, Store(node.store.root), 0, epoch=1800000000 + 20 * 60)
        assert after.device.state["import_ws"] == run_on


def test_a_provisioning_cut_after_setting_records_aside_is_finished_cleanly(tmp_path):
    from smets.node import Node
    from smets.store import Store
    from smetsbench.session import device_identity

    with Bench(work_dir=tmp_path) as bench:
        esme = bench.add_inprocess("ESME")
        identity = device_identity(esme.role, esme.eui, esme.ka_key, esme.ds_key,
                                   bench.hub.eui, bench.dcc)
        store = Store(str(tmp_path / "cut"))
        store.save("identity", identity)
        store.save("kept-security", {"counters": {"90b3d51f30010000": 99}})
        store.save("provisioning", {"identity": identity, "init": {}})
        node = Node({"name": "t"}, store, 0)
        assert node.device is not None and node.device.counters == {}
        assert not any(n.startswith("kept-") or n == "provisioning" for n in store.names())
