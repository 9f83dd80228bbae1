"""`smetsbench provision` and `status` against virtual boards, and a bench used across runs."""

import shutil
import subprocess
import time

import pytest
from smets.node import FIRMWARE_VERSION
from smetsbench import cli
from smetsbench.boards import build
from smetsbench.boards.transport import BoardError
from smetsbench.boards.virtual import VirtualBoard, find_micropython
from smetsbench.oracle import pki
from smetsbench.pytest_plugin import attach_board
from smetsbench.session import Bench
from smetsbench.tools.benchdir import BenchDir, fingerprint
from smetsbench.tools.benchinit import bench_init
from smetsbench.tools.errors import ToolError
from smetsbench.tools.probe import open_link
from smetsbench.tools.provision import check_board, provision
from smetsbench.tools.status import bench_status, board_status

pytestmark = pytest.mark.skipif(find_micropython() is None,
                                reason="needs the MicroPython unix port")


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    return bench_init(tmp_path_factory.mktemp("lab") / "bench", name="lab")


@pytest.fixture(scope="module")
def board(tmp_path_factory):
    vb = VirtualBoard(tmp_path_factory.mktemp("esme") / "esme", name="esme")
    vb.start()
    yield vb
    vb.stop()


@pytest.fixture(scope="module")
def provisioned(lab, board):
    return provision(board.port, "ESME", lab, name="esme-a",
                     init={"mpan_import": "1312345678111", "import_wh": 1200})


def test_provision_gives_the_board_its_identity_and_certificates(lab, board, provisioned):
    record = provisioned.record
    assert provisioned.created and record.role == "ESME"
    st = provisioned.status
    assert st["role"] == "ESME" and st["eui"] == record.eui.hex()
    assert st["device"]["import_wh"] == 1200
    # The board holds its own certificates, the bench root and every remote party's.
    expected = {n: fingerprint(c) for n, c in lab.board_certificates(record).items()}
    assert provisioned.certificates == expected
    assert {"ka", "ds", "root-ca"} <= set(expected) and len(expected) == 15
    stored = (board.directory / "state" / "cert-ka").read_bytes()
    assert stored == record.ka_cert.public_bytes(pki.serialization.Encoding.DER)
    # The identity the board got carries the install code.
    identity = (board.directory / "state" / "identity").read_text()
    assert record.install_code.hex() in identity
    # bench.toml now lists the board; the device record says where it went.
    again = BenchDir.load(lab.path)
    entry = again.board("esme-a")
    assert (entry.port, entry.role, entry.eui, entry.board) == (
        board.port, "ESME", record.eui.hex(), "virtual")
    assert again.device(record.eui).info["provisioned"]["firmware"] == FIRMWARE_VERSION
    assert check_board_on(board.port, lab) == []


def wait_status(port, timeout=30.0):
    """The firmware's status once it answers (a request sent while it boots is lost)."""
    link = open_link(port)
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                return link.control("status", timeout=0.5)
            except BoardError:
                if time.monotonic() > deadline:
                    raise
    finally:
        link.close()


def check_board_on(port, bench):
    link = open_link(port)
    try:
        return check_board(link, bench)
    finally:
        link.close()


def test_certificates_chain_verify_with_cryptography_and_openssl(lab, provisioned):
    record = provisioned.record
    for cert in record.certificates().values():
        pki.verify_chain(cert, lab.pki)
    if shutil.which("openssl") is None:
        pytest.skip("openssl command not found")
    bundle = lab.path / "ca-bundle.pem"
    bundle.write_bytes(lab.pki.bundle_pem())
    files = [str(lab.devices_dir / ("%s-%s.pem" % (record.eui.hex(), u))) for u in ("ka", "ds")]
    result = subprocess.run(["openssl", "verify", "-x509_strict", "-CAfile", str(bundle), *files],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count(": OK") == 2


def test_reprovisioning_reuses_the_identity(lab, board, provisioned):
    again = provision(board.port, "ESME", lab)
    assert not again.created and again.record.eui == provisioned.record.eui
    assert again.board.name == "esme-a"
    assert again.record.ka_cert.serial_number == provisioned.record.ka_cert.serial_number
    assert len(BenchDir.load(lab.path).boards) == 1


def test_roles_the_firmware_lacks_are_reported_and_change_nothing(lab, board, provisioned):
    for role in ("GSME", "IHD", "CAD"):
        with pytest.raises(ToolError) as err:
            provision(board.port, role, lab)
        text = str(err.value)
        assert "does not emulate %s yet (it emulates: ESME, CHF, HANTEST)" % role in text
        assert "the board was not changed" in text
    link = open_link(board.port)
    try:
        st = link.control("status")
    finally:
        link.close()
    assert st["role"] == "ESME" and st["eui"] == provisioned.record.eui.hex()
    # The bench keeps the identities issued for those roles, not as boards.
    roles = {BenchDir.load(lab.path).device(e).role for e in lab.devices()}
    assert roles == {"ESME", "GSME", "IHD", "CAD"}
    assert [b.role for b in BenchDir.load(lab.path).boards] == ["ESME"]


def test_status_of_the_bench(lab, board, provisioned, capsys):
    rows = bench_status(lab)
    assert len(rows) == 1
    row = rows[0]
    assert row["state"] == "ok", row["problems"]
    assert (row["name"], row["role"], row["eui"], row["firmware"]) == (
        "esme-a", "ESME", provisioned.record.eui.hex(), FIRMWARE_VERSION)
    assert 0 < row["heap_free"] < row["heap_total"] <= 256 * 1024
    assert cli.main(["status", "--bench", str(lab.path)]) == 0
    out = capsys.readouterr().out
    assert "esme-a" in out and provisioned.record.eui.hex() in out and " ok" in out
    assert cli.main(["status", "--port", "/dev/ttyUSB-absent"]) == 1
    out = capsys.readouterr().out
    assert "missing" in out and "no such port /dev/ttyUSB-absent" in out


def test_a_board_from_another_bench_is_a_mismatch(lab, board, provisioned, tmp_path):
    other = bench_init(tmp_path / "other")
    rows = bench_status(other, ports=[board.port])
    assert rows[0]["state"] == "mismatch"
    assert "not a device of bench" in rows[0]["problems"][0]
    # Same EUI known to the other bench, but with its own certificates: they differ.
    other.issue_identity("ESME", provisioned.record.eui)
    problems = check_board_on(board.port, other)
    assert any("KA certificate is not the one bench other issued" in p for p in problems)
    assert any("trusted certificates differ" in p for p in problems)


def test_bench_dcc_drives_a_provisioned_board_across_runs(lab, board, provisioned, tmp_path):
    # A later run: a new Bench from the bench directory adopts the board with the identity
    # the bench issued; its remote parties are the ones the board trusts.
    with Bench(dcc=BenchDir.load(lab.path).dcc(), work_dir=tmp_path) as bench:
        esme = attach_board(bench, "ESME", board.port, lab, provisioned.record.eui.hex())
        assert esme.eui == provisioned.record.eui
        assert esme.ka_public == pki.public_key_raw(provisioned.record.ka_cert)
        for name, params in (("ECS52", {}), ("ECS40", {"mpan": "1312345678111"})):
            result = bench.run(esme, name, **params)
            assert result.passed, result.report()


def test_board_without_firmware_old_firmware_missing_and_busy(tmp_path, lab):
    with VirtualBoard(tmp_path / "bare", install_firmware=False, name="bare") as bare:
        with pytest.raises(ToolError) as err:
            provision(bare.port, "ESME", lab)
        assert "MicroPython answers but the smets firmware is not running" in str(err.value)
        assert "smetsbench deploy --port %s" % bare.port in str(err.value)
        assert board_status(bare.port, timeout=1.0)["state"] == "no firmware"
        # An older firmware (sources with an older version) is refused by provision.
        files = build.image_files(compiled=False)
        node = files["lib/smets/node.py"].decode()
        files["lib/smets/node.py"] = node.replace(
            'FIRMWARE_VERSION = "%s"' % FIRMWARE_VERSION, 'FIRMWARE_VERSION = "0.0.1"').encode()
        for name, data in files.items():
            path = bare.directory / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        bare.power_cut()  # reboots into main.py
        assert wait_status(bare.port)["firmware"] == "0.0.1"
        with pytest.raises(ToolError) as err:
            provision(bare.port, "ESME", lab)
        assert "runs smets firmware 0.0.1, older than %s" % FIRMWARE_VERSION in str(err.value)
        assert "smetsbench deploy" in str(err.value)
        assert board_status(bare.port, timeout=5.0)["state"] == "old firmware"
        link = open_link(bare.port)
        try:
            with pytest.raises(ToolError, match="is busy"):
                provision(bare.port, "ESME", lab)
            assert board_status(bare.port)["state"] == "busy"
        finally:
            link.close()
    with pytest.raises(ToolError, match="no such port"):
        provision("/dev/ttyACM-absent", "ESME", lab)


def test_cli_provision(lab, tmp_path, capsys):
    with VirtualBoard(tmp_path / "b2", name="b2") as vb:
        assert cli.main(["provision", "--bench", str(lab.path), "--port", vb.port, "--role",
                         "esme", "--name", "esme-b", "--init", "mpan_import=1312345678222",
                         "--init", "power_w=750"]) == 0
        out = capsys.readouterr().out
        assert "ESME 00db1234" in out and "install code" in out and "15 certificates" in out
        link = open_link(vb.port)
        try:
            st = link.control("status")
        finally:
            link.close()
        assert st["device"]["mpan_import"] == "1312345678222" and st["device"]["power_w"] == 750
        assert cli.main(["provision", "--bench", str(lab.path), "--port", vb.port, "--role",
                         "GSME"]) == 2
        assert "does not emulate GSME yet" in capsys.readouterr().err
    assert cli.main(["provision", "--bench", str(lab.path), "--role", "IHD",
                     "--issue-only"]) == 0
    assert "IHD 00db1234" in capsys.readouterr().out
    assert cli.main(["provision", "--bench", str(tmp_path / "none"), "--role", "ESME",
                     "--port", "/dev/null"]) == 2
    assert "smetsbench bench-init" in capsys.readouterr().err
