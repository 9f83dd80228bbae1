"""Bench directories: bench-init, bench.toml, device identities, install codes, certificates."""

import shutil
import subprocess

import pytest
from cryptography import x509
from smetsbench import cli
from smetsbench.oracle import pki
from smetsbench.oracle.parties import DEFAULT_EUIS, DEVICE_TRUSTS
from smetsbench.tools import benchdir
from smetsbench.tools.benchdir import BenchDir, BoardEntry
from smetsbench.tools.benchinit import bench_init
from smetsbench.tools.errors import ToolError
from smetsbench.tools.provision import issue_identity


@pytest.fixture(scope="module")
def bench(tmp_path_factory):
    return bench_init(tmp_path_factory.mktemp("bench") / "lab", name="lab-1")


def test_install_code_crc_and_link_key_match_the_zigbee_vector():
    # The install code example of Silicon Labs AN1089, used by zigpy/bellows tests too.
    code = bytes.fromhex("83FED3407A939723A5C639B26916D505")
    assert benchdir.install_code_crc(code) == bytes.fromhex("C3B5")
    full = code + bytes.fromhex("C3B5")
    assert benchdir.link_key(full) == bytes.fromhex("66B6900981E1EE3CA4206B6B861C02BB")
    assert benchdir.check_install_code(full) == full
    with pytest.raises(ToolError, match="valid CRC"):
        benchdir.check_install_code(code + b"\x00\x00")
    fresh = benchdir.new_install_code()
    assert len(fresh) == 18 and benchdir.check_install_code(fresh) == fresh


def test_bench_init_lays_out_pki_parties_and_bench_file(bench):
    assert bench.name == "lab-1" and bench.file.exists()
    assert (bench.pki_dir / "root-ca.pem").exists()
    store = pki.load_keystore(bench.parties_dir)
    assert store.problems == []
    for role in DEVICE_TRUSTS:
        for usage in ("ka", "ds"):
            entry = store[(DEFAULT_EUIS[role], usage)]
            assert entry.private_key is not None and entry.consistent
            assert pki.profile_of(entry.certificate) == "org"
            assert pki.role_of(entry.certificate) == pki.PARTY_ROLES[role]
            pki.verify_chain(entry.certificate, bench.pki)
    dcc = bench.dcc()
    assert set(dcc.parties) == set(DEVICE_TRUSTS)
    assert BenchDir.load(bench.path).settings == bench.settings
    assert (bench.parties_dir / (DEFAULT_EUIS["acb"] + "-ka.key")).stat().st_mode & 0o077 == 0


def test_bench_init_refuses_an_existing_bench(bench):
    with pytest.raises(ToolError, match="already holds a bench"):
        bench_init(bench.path)


def test_cli_bench_init(tmp_path, capsys):
    assert cli.main(["bench-init", str(tmp_path / "b"), "--name", "cli"]) == 0
    assert "bench 'cli' created" in capsys.readouterr().out
    assert cli.main(["bench-init", str(tmp_path / "b")]) == 2
    assert "already holds a bench" in capsys.readouterr().err


@pytest.mark.parametrize("role", ["ESME", "GSME", "IHD", "CAD"])
def test_identities_for_every_role_chain_to_the_bench(bench, role):
    record, created = issue_identity(bench, role)
    assert created and record.role == role
    assert record.eui.hex().startswith(bench.settings["eui_prefix"])
    record.check(bench.pki)
    for usage, cert in record.certificates().items():
        assert pki.profile_problems(cert) == []
        assert pki.eui_from_certificate(cert) == record.eui
        assert pki.usage_of(cert) == usage
    again = bench.device(record.eui)
    assert again.install_code == record.install_code and again.role == role
    assert again.info["link_key"] == benchdir.link_key(record.install_code).hex()
    # Asking again for the same EUI reuses the identity; another role is refused.
    same, created = issue_identity(bench, role, record.eui.hex())
    assert not created and same.ka_cert.serial_number == record.ka_cert.serial_number
    other = "ESME" if role != "ESME" else "GSME"
    with pytest.raises(ToolError, match="is a %s on bench" % role):
        issue_identity(bench, other, record.eui.hex())


def test_device_certificates_verify_with_openssl(bench):
    if shutil.which("openssl") is None:
        pytest.skip("openssl command not found")
    record, _ = issue_identity(bench, "ESME")
    eui = record.eui.hex()
    for usage in ("ka", "ds"):
        cert = bench.devices_dir / ("%s-%s.pem" % (eui, usage))
        result = subprocess.run(
            ["openssl", "verify", "-x509_strict", "-policy_check", "-explicit_policy",
             "-policy", bench.pki.config["device_policy"], "-CAfile",
             str(bench.pki_dir / "root-ca.pem"), "-untrusted",
             str(bench.pki_dir / "device-ca.pem"), str(cert)],
            capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stdout + result.stderr
        assert result.stdout.strip().endswith(": OK")
    party = bench.parties_dir / (DEFAULT_EUIS["supplier"] + "-ds.pem")
    result = subprocess.run(
        ["openssl", "verify", "-x509_strict", "-CAfile", str(bench.pki_dir / "root-ca.pem"),
         "-untrusted", str(bench.pki_dir / "org-ca.pem"), str(party)],
        capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def test_certificate_that_does_not_match_its_key_or_eui_is_refused(bench):
    a, _ = issue_identity(bench, "ESME")
    b, _ = issue_identity(bench, "ESME")
    files_a = {u: bench.devices_dir / ("%s-%s.pem" % (a.eui.hex(), u)) for u in ("ka", "ds")}
    files_b = {u: bench.devices_dir / ("%s-%s.pem" % (b.eui.hex(), u)) for u in ("ka", "ds")}
    # B's certificate under A's name: it names another EUI.
    shutil.copy(files_b["ka"], files_a["ka"])
    with pytest.raises(ToolError, match="names EUI %s, not %s" % (b.eui.hex(), a.eui.hex())):
        issue_identity(bench, "ESME", a.eui.hex())
    # A DS certificate in the KA file: wrong usage.
    shutil.copy(files_a["ds"], files_a["ka"])
    with pytest.raises(ToolError, match="the ka certificate is a ds certificate"):
        issue_identity(bench, "ESME", a.eui.hex())
    # A re-issued certificate for the same EUI but another key: key and certificate differ.
    other = bench.pki.issue_device_certificate(a.eui, pki.generate_key(), "ka", "ESME")
    files_a["ka"].write_bytes(other.public_bytes(pki.serialization.Encoding.PEM))
    with pytest.raises(ToolError, match="does not match the ka private key"):
        issue_identity(bench, "ESME", a.eui.hex())
    # A certificate from another bench's PKI.
    foreign = bench_init(bench.path.parent / "foreign")
    cert = foreign.pki.issue_device_certificate(a.eui, a.ka_key, "ka", "ESME")
    files_a["ka"].write_bytes(cert.public_bytes(pki.serialization.Encoding.PEM))
    with pytest.raises(ToolError, match="does not chain to this bench's PKI"):
        issue_identity(bench, "ESME", a.eui.hex())
    # --new-keys replaces the damaged identity.
    fresh, created = issue_identity(bench, "ESME", a.eui.hex(), new_keys=True)
    assert created
    fresh.check(bench.pki)
    assert x509.load_pem_x509_certificate(files_a["ka"].read_bytes()) == fresh.ka_cert


def test_incomplete_device_is_reported(bench):
    record, _ = issue_identity(bench, "ESME")
    (bench.devices_dir / ("%s-ds.key" % record.eui.hex())).unlink()
    with pytest.raises(ToolError, match="incomplete: missing %s-ds.key" % record.eui.hex()):
        bench.device(record.eui)


def test_bench_file_round_trip_and_errors(tmp_path):
    bench = bench_init(tmp_path / "b")
    bench.set_board(BoardEntry("esme-1", "rfc2217://benchpc:4000", "esp32-s3", "esme",
                               "00:db:12:34:56:78:90:a0", note='desk "B"'))
    bench.set_board(BoardEntry("gsme-1", "/dev/ttyUSB1", "esp32-c6", "GSME"))
    bench.save()
    loaded = BenchDir.load(bench.file)
    assert [b.as_dict() for b in loaded.boards] == [b.as_dict() for b in bench.boards]
    assert loaded.board("rfc2217://benchpc:4000").eui == "00db1234567890a0"
    assert loaded.board("00db1234567890a0").name == "esme-1"
    assert loaded.boards_for("gsme")[0].port == "/dev/ttyUSB1"
    # Replacing by port keeps one entry per port.
    loaded.set_board(BoardEntry("esme-2", "/dev/ttyUSB1", "virtual", "ESME"))
    assert [b.name for b in loaded.boards] == ["esme-1", "esme-2"]
    assert loaded.unique_board_name("ESME") == "esme-3"
    bad = {
        "[[boards]]\nname = \"x\"\n": "needs a port",
        "[[boards]]\nname = \"x\"\nport = \"p\"\nrole = \"METER\"\n": "role must be one of",
        "[[boards]]\nname = \"x\"\nport = \"p\"\neui = \"12\"\n": "not an EUI-64",
        "[[boards]]\nname = \"x\"\nport = \"p\"\nspeed = 1\n": "unknown keys speed",
        "[[boards]]\nname = \"x\"\nport = \"p\"\n[[boards]]\nname = \"x\"\nport = \"q\"\n":
            "board names used twice: x",
        "[bench\n": "not valid TOML",
    }
    for text, message in bad.items():
        bench.file.write_text(text)
        with pytest.raises(ToolError, match=message):
            BenchDir.load(bench.path)
    with pytest.raises(ToolError, match="no bench at .*bench-init"):
        BenchDir.load(tmp_path / "nowhere")
