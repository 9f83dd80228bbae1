"""`smetsbench demo --screens DIR`: the whole home passes, and the IHD's screens are PNGs that
show what the steps changed."""

import struct
import zlib

import pytest
from smetsbench.cli import demo

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def _png_size(data):
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    w, h = struct.unpack(">II", data[16:24])
    idat = data[data.index(b"IDAT") + 4:data.index(b"IEND") - 8]
    assert len(zlib.decompress(idat)) == h * (1 + 3 * w)  # RGB rows, filter byte each
    return w, h


def test_demo_home_passes_and_saves_the_screens(tmp_path, capsys):
    shots = tmp_path / "screens"
    assert demo.main(work_dir=str(tmp_path / "boards"), screens_dir=str(shots)) == 0
    out = capsys.readouterr().out
    names = sorted(p.name for p in shots.glob("*.png"))
    assert names == ["01-now.png", "02-tariff.png", "03-credit.png", "04-message.png",
                     "05-gas.png", "06-day.png", "07-status.png"]
    for p in shots.glob("*.png"):
        assert _png_size(p.read_bytes()) == ((240 + 8) * 3, (136 + 8) * 3)
    assert "screen: %s  (Electricity | Today 22.00kWh" % (shots / "06-day.png") in out
    # Gas from the GPF's mirror: the day's 6.35 m3 on the IHD, and in the CAD's messages.
    assert "screen: %s  (Gas | Now 0.00kW | Today 6.350m3" % (shots / "05-gas.png") in out
    assert "the day's gas reading in MQTT      PASS" in out
    assert "0 failed" in out and "home: change to IHD screen" in out
