"""The byte-level COSEM helpers and the ESME model tables (sans-IO; CPython and MicroPython)."""

from smets import cosem
from smets.cosem import AttrStore
from smets.devices import esme, esme_image, esme_model
from smets.dlms import axdr
from smets.dlms.access import AccessRequest, RequestSpec
from smets.dlms.axdr import Data

U32 = Data.uint32
SU = Data.structure


def _b(d):
    return axdr.encode(d)


def test_skip_walks_every_data_type():
    values = [
        Data.null(), Data.boolean(True), Data.bits("10110"), Data.int32(-5), U32(7),
        Data.octet(b"abc"), Data.visible("xy"), Data.utf8("{}"), Data.int8(-1), Data.int16(3),
        Data.uint8(1), Data.uint16(2), Data.int64(-9), Data.uint64(9), Data.enum(3),
        SU([U32(1), Data.array([Data.octet(b""), Data.octet(b"12")])]),
        Data.compact_array((axdr.STRUCTURE, (axdr.DOUBLE_LONG_UNSIGNED, axdr.LONG_UNSIGNED)),
                           [SU([U32(1), Data.uint16(2)])]),
    ]
    blob = b"".join(_b(v) for v in values)
    p = 0
    for v in values:
        end = cosem.skip(blob, p)
        assert blob[p:end] == _b(v)
        p = end
    assert p == len(blob)


def test_shape_keeps_types_and_structure_sizes():
    reg = _b(SU([U32(1), SU([Data.int8(0), Data.enum(30)])]))
    assert cosem.shape(reg, 0, _b(SU([U32(99), SU([Data.int8(-3), Data.enum(32)])])), 0)
    assert cosem.shape(reg, 0, _b(SU([Data.int32(1), SU([Data.int8(0), Data.enum(30)])])),
                       0) is None
    assert cosem.shape(reg, 0, _b(SU([U32(1)])), 0) is None
    arr = _b(Data.array([SU([Data.uint16(1), Data.octet(b"\xff\xff\x01\x01\xff")])]))
    longer = Data.array([SU([Data.uint16(i), Data.octet(b"\x07\xdf\x01\x01\xff")])
                         for i in range(5)])
    assert cosem.shape(arr, 0, _b(longer), 0)
    assert cosem.shape(arr, 0, _b(Data.array([])), 0)
    assert cosem.shape(arr, 0, _b(Data.array([Data.uint16(1)])), 0) is None
    # A date-time stays 12 bytes; other strings may change length.
    dt = _b(Data.octet(cosem.NEVER_DT))
    assert cosem.shape(dt, 0, _b(Data.octet(cosem.NOW_DT)), 0)
    assert cosem.shape(dt, 0, _b(Data.octet(b"\x00" * 5)), 0) is None
    assert cosem.shape(_b(Data.octet(b"")), 0, _b(Data.octet(b"1312345678111")), 0)


def test_integers_and_date_times():
    assert cosem.integer(cosem.DOUBLE_LONG, -2) == b"\x05\xff\xff\xff\xfe"
    assert cosem.value_int(b"\x05\xff\xff\xff\xfe") == -2
    assert cosem.value_int(b"\x12\x80\x00") == 0x8000
    t = 1420070400  # 2015-01-01T00:00:00Z, the RTDS device clock
    assert cosem.date_time(t) == axdr.date_time_bytes(t)
    for now in (0, 951782400, 1700000000, 1893456000 + 86399):
        assert cosem.unix_time(cosem.date_time(now)) == now
    assert cosem.unix_time(cosem.NOW_DT) is None and cosem.unix_time(cosem.NEVER_DT) is None
    # A specified deviation (minutes, local = UTC + deviation) is taken off.
    local = bytearray(cosem.date_time(t + 3600))
    local[9:11] = b"\x00\x3c"
    assert cosem.unix_time(bytes(local)) == t
    assert cosem.bound_time(b"\x06\x1c\x37\x4a\x80", 0) == t
    assert cosem.bound_time(b"\x09\x0c" + cosem.date_time(t), 0) == t


def test_parse_request_and_response():
    req = AccessRequest(0x200003E8, [
        RequestSpec.get(1, b"\x00\x00\x00\x02\x01\xff", 2),
        RequestSpec.set(1, b"\x00\x00\x5e\x2c\x22\x0b", 2),
        RequestSpec.action(9, b"\x00\x00\x0a\x00\x6a\xff", 1),
    ], [Data.null(), Data.octet(b"1312345678333"), Data.uint16(51)]).to_bytes()
    invoke, specs = cosem.parse_request(req)
    assert invoke == b"\x20\x00\x03\xe8"
    assert [(k, key[:2], key[8]) for k, key, _, _ in specs] == [
        (1, b"\x00\x01", 2), (2, b"\x00\x01", 2), (3, b"\x00\x09", 1)]
    kind, key, sel, dpos = specs[1]
    assert req[dpos:cosem.skip(req, dpos)] == _b(Data.octet(b"1312345678333"))
    for bad in (req[:-1], req + b"\x00", b"\xda" + req[1:], b"\xd9"):
        try:
            cosem.parse_request(bad)
        except cosem.COSEMError:
            continue
        raise AssertionError("accepted %r" % (bad,))
    resp = cosem.response(invoke, [b"\x09\x01\x41", b"\x00"], b"\x01\x00\x02\x00")
    assert resp.hex() == "da200003e800000209014100020100" + "0200"


def test_attr_store_put_get_and_persistence():
    keys = b"".join(bytes((0, 1, 0, 0, 96, 1, i, 255, 2)) for i in range(4))
    values = [_b(Data.octet(b"a")), _b(U32(1)), b"", _b(Data.boolean(False))]
    st = AttrStore.from_values(keys, values)
    assert len(st) == 4 and st.slot(keys[18:27]) == 2 and st.slot(b"\x00" * 9) == -1
    st.put(0, _b(Data.octet(b"longer value")))
    st.put(2, b"\x03\xff")
    assert st.get(0) == _b(Data.octet(b"longer value")) and st.get(1) == values[1]
    assert st.get(2) == b"\x03\xff" and st.get(3) == values[3]
    again = AttrStore.from_bytes(keys, bytes(st.to_bytes()))
    assert [again.get(i) for i in range(4)] == [st.get(i) for i in range(4)]
    assert AttrStore.from_bytes(keys[:9], bytes(st.to_bytes())) is None
    assert AttrStore.from_bytes(keys, b"\x00") is None


def test_attr_store_random_puts_across_segments():
    # A model check: random-length values put in random slots, read back, saved and loaded.
    n = 3 * AttrStore.SEG + 5
    keys = b"".join(bytes((0, 1, 0, 0, 96, i >> 8, i & 0xFF, 255, 2)) for i in range(n))
    model = [bytes((i % 256,)) * (i % 7) for i in range(n)]
    st = AttrStore.from_values(keys, model)
    x = 12345
    for _ in range(400):
        x = (x * 1103515245 + 12345) & 0x7FFFFFFF
        i = x % n
        size = (x >> 8) % (3 * AttrStore.SPARE)  # some puts outgrow the segment's room
        v = bytes(((x >> 3) & 0xFF,)) * size
        st.put(i, v)
        model[i] = v
        if x % 5 == 0:
            st = AttrStore.from_bytes(keys, st.to_bytes())
    assert [st.get(i) for i in range(n)] == model
    assert st.to_bytes()[2 + 2 * (n + 1):] == b"".join(model)


def test_slot_lookup_is_aligned_to_keys():
    # A key whose bytes also appear across two other keys must still be found at its slot.
    keys = bytes(range(1, 10)) + bytes(range(10, 19)) + bytes(range(5, 14))
    st = AttrStore.from_values(keys, [b"", b"", b""])
    assert st.slot(bytes(range(5, 14))) == 2


def test_esme_image_is_the_compiled_model():
    keys, hooks, blob, ucs, acts, _variants = esme_model.build()
    assert esme_image.VERSION == esme_model.VERSION == esme.MODEL_VERSION
    assert esme_image.KEYS == keys and esme_image.HOOKS == hooks
    assert esme_image.DEFAULTS == blob, "run python -m smets.devices.esme_model"
    assert esme_image.USE_CASES == ucs and esme_image.ACTIVATIONS == acts


def test_model_hooks_are_the_firmwares():
    names = ("clock", "regs", "tou", "toub", "pwr", "pp", "bal", "dcout", "dcstate", "log",
             "mpan", "act", "ls", "dp", "adj", "zero", "clr", "topup", "ec", "pas", "any",
             "alcs", "clkset")
    ids = (esme.H_CLOCK, esme.H_REGS, esme.H_TOU, esme.H_TOUB, esme.H_PWR, esme.H_PP,
           esme.H_BAL, esme.H_DCOUT, esme.H_DCSTATE, esme.H_LOG, esme.H_MPAN, esme.H_ACT,
           esme.H_LS, esme.H_DP, esme.H_ADJ, esme.H_ZERO, esme.H_CLR, esme.H_TOPUP, esme.H_EC,
           esme.H_PAS, esme.H_ANY, esme.H_ALCS,
           esme.H_CLKSET)
    assert len(esme_model.HOOKS) == len(names) + 1
    for name, i in zip(names, ids):
        assert esme_model.HOOKS.index(name) == i, name


def test_model_defaults_are_well_formed():
    st = AttrStore.from_bytes(esme_image.KEYS, esme_image.DEFAULTS)
    for i in range(len(st)):
        v = st.get(i)
        h = esme_image.HOOKS[i]
        key = st.key(i)
        if key[8] & 0x80 or h == esme.H_LOG:
            continue  # methods and profile descriptors hold hook data, not A-XDR
        assert v and cosem.skip(v, 0) == len(v), (key, v)
        if h == esme.H_ACT:
            assert v == b"\x09\x0c" + cosem.NEVER_DT


def test_model_value_notation():
    v, end = esme_model.value("S(u32:5,A(2*i16:-1),x0102,'ab',v'c',U'd',B12:fff0,b1,n,e:3,~)")
    assert end == len("S(u32:5,A(2*i16:-1),x0102,'ab',v'c',U'd',B12:fff0,b1,n,e:3,~)")
    assert axdr.from_bytes(v) == SU([
        U32(5), Data.array([Data.int16(-1), Data.int16(-1)]), Data.octet(b"\x01\x02"),
        Data.octet(b"ab"), Data.visible("c"), Data.utf8("d"), Data.bit_string(12, b"\xff\xf0"),
        Data.boolean(True), Data.null(), Data.enum(3), Data.octet(cosem.NEVER_DT)])
    assert esme_model.obis("94.44.34.11") == bytes((0, 0, 94, 44, 34, 11))
    assert esme_model.obis("1.0.1.8.0") == bytes((1, 0, 1, 8, 0, 255))
    assert esme_model.obis("43.2.8") == bytes((0, 0, 43, 2, 8, 255))
