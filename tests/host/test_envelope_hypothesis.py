"""GBCS envelope codec under arbitrary input: only GBCSFormatError may escape, and every
message it can build decodes back to the same fields."""

from hypothesis import given, settings
from hypothesis import strategies as st
from smets.gbcs import envelope
from smets.gbcs.envelope import GBCSFormatError

titles = st.binary(min_size=8, max_size=8)


@settings(max_examples=3000)
@given(st.binary(max_size=600))
def test_arbitrary_bytes_only_raise_format_error(data):
    for blob in (data, b"\xdd" + data, b"\xdf" + data, b"\xdd\x00\x00\x00\x00\x00\x00" + data):
        try:
            msg = envelope.decode(blob)
        except GBCSFormatError:
            continue
        # Whatever decodes must re-encode to the same bytes.
        gs = envelope.encode_general_signing(msg.cra, msg.counter, msg.originator,
                                             msg.recipient, msg.other_info, msg.content,
                                             msg.date_time)
        signed = envelope.with_signature(gs, msg.signature)
        out = envelope.wrap_ciphering(signed, msg.mac) if msg.mac else signed
        assert out == blob


@settings(max_examples=1500)
@given(cra=st.sampled_from([1, 2, 3]), counter=st.integers(0, 2**64 - 1), originator=titles,
       recipient=titles, other=st.binary(min_size=2, max_size=300),
       content=st.binary(max_size=70000), date_time=st.one_of(st.none(), st.binary(
           min_size=12, max_size=12)),
       signature=st.one_of(st.none(), st.binary(min_size=64, max_size=64)),
       mac=st.one_of(st.none(), st.binary(min_size=12, max_size=12)))
def test_built_messages_round_trip(cra, counter, originator, recipient, other, content,
                                   date_time, signature, mac):
    gs = envelope.encode_general_signing(cra, counter, originator, recipient, other, content,
                                         date_time)
    signed = envelope.with_signature(gs, signature)
    raw = envelope.wrap_ciphering(signed, mac) if mac else signed
    msg = envelope.decode(raw)
    assert (msg.cra, msg.counter, msg.originator, msg.recipient) == (cra, counter, originator,
                                                                     recipient)
    assert (bytes(msg.other_info), bytes(msg.content)) == (other, content)
    assert msg.date_time == date_time and msg.signature == signature and msg.mac == mac
    assert msg.general_signing == gs
    if mac:
        assert msg.mac_aad == envelope.MAC_AAD_PREFIX + signed
    # Truncating a message never crashes the decoder.
    for cut in (1, len(raw) // 2, len(raw) - 1):
        try:
            envelope.decode(raw[:cut])
        except GBCSFormatError:
            pass


def test_precommand_decodes_like_its_command():
    gs = envelope.encode_general_signing(1, 1000, b"\x90" * 8, b"\x00" * 8, b"\x00\x59", b"x")
    assert envelope.decode_precommand(gs).general_signing == gs
    for bad in (b"", b"\xdd", gs + b"\x00\x00"):
        try:
            envelope.decode_precommand(bad)
        except GBCSFormatError:
            pass
        else:
            raise AssertionError(bad)
