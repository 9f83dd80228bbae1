"""GBCS message envelopes: General Ciphering (0xDD) around General Signing (0xDF).

Sans-IO codec shared by the firmware and the host. Layout (GBCS 4.3, checked against RTDS 4.5.0):

  DD 00 00 00 00 00 00 | len | 11 00000000 | DF ... content | siglen [sig] | MAC(12)
  DF 09 <CRA> <counter:8> 08 <originator:8> 08 <recipient:8>
     <date-time: 00 | 0C + 12> <other-information: len + message code(2) [+ more]>
     <content: len + bytes> <siglen: 00 | 40 + r||s>

Device-signed responses and alerts are a bare General Signing APDU (no DD, no MAC).
Lengths use the ASN.1 long form (0x81 xx, 0x82 xx xx).
"""

try:
    from micropython import const
except ImportError:  # CPython

    def const(x):  # type: ignore[misc]  # CPython has no micropython.const
        return x


from smets.codec import hexs, length_decoder, length_encoder  # noqa: F401 (hexs: API)

CRA_COMMAND = const(1)
CRA_RESPONSE = const(2)
CRA_ALERT = const(3)

TAG_GENERAL_CIPHERING = const(0xDD)
TAG_GENERAL_SIGNING = const(0xDF)
TAG_GENERAL_BLOCK_TRANSFER = const(0xE0)

# GBCS 4.3.1.2: the only security control used in a General Ciphering MAC header is
# "authenticated only" with a zero invocation counter; the AAD starts with SC and five zeros.
SECURITY_HEADER = b"\x11\x00\x00\x00\x00"
MAC_AAD_PREFIX = b"\x11\x00\x00\x00\x00\x00"
_CIPHERING_HEADER = b"\xdd\x00\x00\x00\x00\x00\x00"
MAC_LEN = const(12)
SIGNATURE_LEN = const(64)


class GBCSFormatError(ValueError):
    """A GBCS message that does not follow the envelope grammar."""


# The ASN.1 (BER) length form, at most three length bytes (GBCS messages stay far below 16 MB):
# decode_length(data, pos) -> (n, position after it), encode_length(n) -> bytes.
decode_length = length_decoder(GBCSFormatError, 3)
encode_length = length_encoder(GBCSFormatError, 3)


def _field(data, pos, name):
    n, pos = decode_length(data, pos)
    end = pos + n
    if end > len(data):
        raise GBCSFormatError(
            "%s needs %d bytes at offset %d, only %d left" % (name, n, pos, len(data) - pos)
        )
    return data[pos:end], end


class Message:
    """One decoded GBCS message (command, response or alert)."""

    __slots__ = (
        "cra",
        "counter",
        "originator",
        "recipient",
        "date_time",
        "other_info",
        "content",
        "signature",
        "mac",
        "raw",
        "_gs_start",
        "_content_end",
    )

    def __init__(self):
        self.date_time = None
        self.signature = None
        self.mac = None

    @property
    def message_code(self):
        return (self.other_info[0] << 8) | self.other_info[1]

    @property
    def ciphered(self):
        return self.mac is not None

    @property
    def signed_bytes(self):
        """What the originator signs: the General Signing bytes after DF, to the end of content."""
        return self.raw[self._gs_start + 1 : self._content_end]

    def signed_view(self):
        """`signed_bytes` without a copy (a memoryview): a 4 KB command need not be in RAM
        twice to be hashed."""
        return memoryview(self.raw)[self._gs_start + 1 : self._content_end]

    @property
    def general_signing(self):
        """The General Signing APDU (DF ... content), i.e. the RTDS PRECOMMAND."""
        return self.raw[self._gs_start : self._content_end]

    @property
    def mac_aad(self):
        """AAD of the message MAC: SC header then every byte from DF up to the MAC."""
        return MAC_AAD_PREFIX + self.raw[self._gs_start : len(self.raw) - MAC_LEN]

    @property
    def transaction_id(self):
        return bytes((self.cra,)) + self.counter.to_bytes(8, "big")

    def __repr__(self):
        return "<GBCS cra=%d code=%04X ctr=%d %s->%s %s%s>" % (
            self.cra,
            self.message_code,
            self.counter,
            self.originator.hex(),
            self.recipient.hex(),
            "signed " if self.signature else "",
            "MAC" if self.mac else "",
        )


def decode(data):
    """Decode a GBCS message; raises GBCSFormatError for anything malformed."""
    data = bytes(data)
    if not data:
        raise GBCSFormatError("empty GBCS message")
    msg = Message()
    msg.raw = data
    tag = data[0]
    if tag == TAG_GENERAL_CIPHERING:
        if data[:7] != _CIPHERING_HEADER:
            raise GBCSFormatError("unsupported General Ciphering header: " + hexs(data[:8]))
        body, end = _field(data, 7, "ciphered content")
        if end != len(data):
            raise GBCSFormatError("%d bytes after General Ciphering" % (len(data) - end))
        start = end - len(body)
        if len(body) < 5 + MAC_LEN + 1 or data[start : start + 5] != SECURITY_HEADER:
            raise GBCSFormatError("bad security header: " + hexs(data[start : start + 6]))
        gs_start = start + 5
        gs_end = len(data) - MAC_LEN
        msg.mac = data[gs_end:]
    elif tag == TAG_GENERAL_SIGNING:
        gs_start = 0
        gs_end = len(data)
    elif tag == TAG_GENERAL_BLOCK_TRANSFER:
        raise GBCSFormatError("General Block Transfer is not supported")
    else:
        raise GBCSFormatError("unknown GBCS APDU tag %02x in %s" % (tag, hexs(data)))
    if data[gs_start] != TAG_GENERAL_SIGNING:
        raise GBCSFormatError("General Signing (DF) expected at offset %d" % gs_start)
    msg._gs_start = gs_start
    pos = gs_start + 1
    tid, pos = _field(data, pos, "transaction-id")
    if len(tid) != 9 or tid[0] not in (CRA_COMMAND, CRA_RESPONSE, CRA_ALERT):
        raise GBCSFormatError("bad transaction-id " + hexs(tid))
    msg.cra = tid[0]
    msg.counter = int.from_bytes(tid[1:], "big")
    msg.originator, pos = _field(data, pos, "originator system title")
    msg.recipient, pos = _field(data, pos, "recipient system title")
    if len(msg.originator) != 8 or len(msg.recipient) != 8:
        raise GBCSFormatError("system titles must be 8 bytes")
    dt, pos = _field(data, pos, "date-time")
    if dt:
        if len(dt) != 12:
            raise GBCSFormatError("date-time must be 0 or 12 bytes, not %d" % len(dt))
        msg.date_time = dt
    msg.other_info, pos = _field(data, pos, "other-information")
    if len(msg.other_info) < 2:
        raise GBCSFormatError("other-information lacks a message code")
    msg.content, pos = _field(data, pos, "content")
    msg._content_end = pos
    if pos >= gs_end:
        raise GBCSFormatError("signature length missing")
    siglen = data[pos]
    pos += 1
    if siglen == SIGNATURE_LEN:
        msg.signature = data[pos : pos + SIGNATURE_LEN]
        pos += SIGNATURE_LEN
    elif siglen != 0:
        raise GBCSFormatError("signature length %d (only 0 or 64)" % siglen)
    if pos != gs_end:
        raise GBCSFormatError(
            "%d unexpected bytes after General Signing at offset %d" % (gs_end - pos, pos)
        )
    return msg


def encode_general_signing(
    cra, counter, originator, recipient, other_info, content, date_time=None
):
    """The General Signing APDU without its signature field (an RTDS PRECOMMAND)."""
    if len(originator) != 8 or len(recipient) != 8:
        raise GBCSFormatError("system titles must be 8 bytes")
    if isinstance(other_info, int):
        other_info = other_info.to_bytes(2, "big")
    out = bytearray(b"\xdf\x09")
    out.append(cra)
    out.extend(counter.to_bytes(8, "big"))
    out.append(8)
    out.extend(originator)
    out.append(8)
    out.extend(recipient)
    if date_time:
        if len(date_time) != 12:
            raise GBCSFormatError("date-time must be 12 bytes")
        out.append(12)
        out.extend(date_time)
    else:
        out.append(0)
    out.extend(encode_length(len(other_info)))
    out.extend(other_info)
    out.extend(encode_length(len(content)))
    out.extend(content)
    return bytes(out)


def with_signature(general_signing, signature=None):
    """Append the signature field (00, or 40 + r||s) to a General Signing APDU."""
    if signature is None:
        return general_signing + b"\x00"
    if len(signature) != SIGNATURE_LEN:
        raise GBCSFormatError("signature must be 64 bytes")
    return general_signing + b"\x40" + signature


def mac_aad_for(signed_apdu):
    """AAD for the MAC over a signed General Signing APDU (DF ... siglen [sig])."""
    return MAC_AAD_PREFIX + signed_apdu


def wrap_ciphering(signed_apdu, mac):
    """Wrap a General Signing APDU (with its signature field) and MAC in General Ciphering."""
    if len(mac) != MAC_LEN:
        raise GBCSFormatError("MAC must be 12 bytes")
    body_len = len(SECURITY_HEADER) + len(signed_apdu) + MAC_LEN
    return _CIPHERING_HEADER + encode_length(body_len) + SECURITY_HEADER + signed_apdu + mac


def decode_precommand(data):
    """Decode an unsigned General Signing APDU without its signature field (RTDS PRECOMMAND:
    what the DCC hands the originator to sign)."""
    data = bytes(data)
    if not data or data[0] != TAG_GENERAL_SIGNING:
        raise GBCSFormatError("a PRECOMMAND is a General Signing APDU (DF ...)")
    msg = decode(data + b"\x00")
    if msg.general_signing != data:
        raise GBCSFormatError("%d unexpected bytes after the content" % (
            len(data) - len(msg.general_signing)))
    return msg
