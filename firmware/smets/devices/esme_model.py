"""The ESME's COSEM object model and GBCS use cases, as data.

Imported only to build the model image (first boot, new firmware): `build()` compiles TEXT into
bytes that the ESME keeps in its store and on the heap, and the module is then dropped again.

TEXT lines (OBIS short forms: C.D.E = 0-0:C.D.E.255, C.D.E.F = 0-0:C.D.E.F, A.B.C.D.E =
A-B:C.D.E.255, or all six groups):

  <class> <obis> <attr>[:<hook>] [<value>]   attribute and default value; mN = method N
  c <obis>/<attr> <src>><dst> ...             activating a passive value (the attribute is an
                                              activation date-time) copies src to dst
  p <obis> <obis>/<attr> ...                  Data protection object (class 30) whose
                                              get_protected_attributes returns these
  u <code> <name> <roles>[/<roles>] <flags> <specs> [| <specs>]   a use case; '+' continues

Values: n (null), b0/b1, u8: u16: u32: u64: i8: i16: i32: i64: e: (enum) with a decimal,
x<hex> and '<text>' (octet-string), v'<text>' (visible-string), U'<text>' (utf8-string),
B<bits>:<hex> (bit-string; no hex: zeros), S(...) / A(...) (structure / array; k*<value>
repeats), r<hex> (raw bytes, for hook data), ~ (the NEVER date-time). Roles: S supplier,
N network operator, A access control broker, W WAN provider, T transitional CoS, R recovery,
L load controller; after a '/': the roles that may send it signed without the ACB's MAC.
Flags: C critical (signed), T response carries the device date-time (GBCS notes 7.3), O
optional items (the request's specs are an ordered subset of the template), #<n> the script id
an action must carry, D an ASN.1 payload (specs '-': the joins, CS06, and the security
credentials, smets.gbcs.credentials), G the response is signed even when the command is not
critical, W / P only a twin-element / polyphase meter has the use case (other variants answer
it with an ECS100 alert). Specs: g get, s set, a action, r get with selective access, then
<obis>/<attr or method>.

  @<variant> <attribute line>               the attribute's default value on a meter of that
                                            variant (T twin-element, P polyphase) instead

Types and shapes follow GBCS as seen in the DCC RTDS 4.5.0 responses; the default values are
the emulator's own. Profile hook data ('log'): ring (0 none, 1 event log, 2 security log,
3 half-hour profile, 4 daily log, 5 billing data log) | compact-array type description | pairs
(width << 4 | field or 0xF for zeros, count) building each entry from the ring's record
(field 0 is the time). Ring fields: half-hour profile (time, import, reactive import, twin:
secondary import), daily log (time, import register, day's import, balance, twin: secondary
import register), billing data log (time, import register, balance, twin: secondary import
register).
"""

import struct
from array import array

from smets.cosem import elen as _len
from smets.devices import model_image

# The row format's flags, read back by smets.gbcs.usecases (the one reader of these rows).
from smets.gbcs.usecases import (  # noqa: F401 - also read by the host as esme_model.FLAG_*
    FLAG_ASN1,
    FLAG_CRITICAL,
    FLAG_OPTIONAL,
    FLAG_POLYPHASE,
    FLAG_SCRIPT,
    FLAG_SIGNED,
    FLAG_TIME,
    FLAG_TWIN,
)

VERSION = 5
HOOKS = ("", "clock", "regs", "tou", "toub", "pwr", "pp", "bal", "dcout", "dcstate", "log",
         "mpan", "act", "ls", "dp", "adj", "zero", "clr", "topup", "ec", "pas", "any", "alcs",
         "clkset")
ROLE_LETTERS = "SNAWTRL"  # bit i = smets.gbcs.pipeline role bit 1 << i

# Several string constants rather than one: a board loads each into its own heap block.
TEXT = (
    """
# -- identity, firmware, MPANs ------------------------------------------------------------
1 0.2.1 2 x00010000
1 96.1.1 2 x0000000000000000
1 96.1.2 2 'A'
1 96.1.4 2 'smetsbench'
1 96.1.6 2 'SMETS2'
1 94.44.0.4 2 b0
1 94.44.34.11 2:mpan x
1 1.0.0.0.2 2:mpan x
8 1.0.0 2:clock x07df0101ff000000008000ff
8 1.0.0 m4
8 1.0.0 m5:clkset S(x07df0101ff000000008000ff,x07df0101ff000000008000ff,x07df0101ff000000008000ff)
""",
    """
# -- energy registers ---------------------------------------------------------------------
1 94.44.34.10 2:regs S(u32:0,S(i8:0,e:30),u32:0,S(i8:0,e:32))
1 94.44.34.1 2:tou S(A(u32:0))
1 94.44.34.2 2:toub S(A(u32:0))
1 94.44.34.20 2:pwr S(u32:0,S(i8:0,e:27),u32:0)
1 94.44.34.30 2:pp S(6*i32:0)
3 1.0.2.8.0 2 u32:0
3 1.0.2.8.0 3 S(i8:0,e:30)
3 1.0.4.8.0 2 u32:0
3 1.0.4.8.0 3 S(i8:0,e:32)
# maximum demand
1 94.44.5.1 2 x07df0101ff000000008000ff
1 94.44.5.2 2 x07df0101ff000000008000ff
4 1.0.1.6.0 2 u32:0
4 1.0.1.6.0 3 S(i8:0,e:27)
4 1.0.1.6.0 5 x07df0101ff000000008000ff
4 1.0.1.6.0 m1:zero
4 1.0.1.6.1 2 u32:0
4 1.0.1.6.1 3 S(i8:0,e:27)
4 1.0.1.6.1 5 x07df0101ff000000008000ff
4 1.0.1.6.1 m1:zero
4 1.0.2.6.0 2 u32:0
4 1.0.2.6.0 3 S(i8:0,e:27)
4 1.0.2.6.0 5 x07df0101ff000000008000ff
4 1.0.2.6.0 m1:zero
10 12.0.0 2 A(S(u16:0,b1,x00000a8064ff,u16:1,x00000000,u16:65535,B7:fe,B0:,x000001ffff,
+ xffffffffff))
""",
    """
# -- profiles and logs ----------------------------------------------------------------------
7 99.1.0 2:log r0302020606 40014101
7 99.1.1 2:log r030203060606 40014f02
7 99.1.2 2:log r0302020606 40014201
7 99.1.3 2:log r0402020606 40014201
7 98.1.9 2:log r040207060601003006010008060100080601000806010008 06 400141014101 4f2f4f20
7 98.1.8 2:log r04020706050505050505 400143014f05
7 98.1.10 2:log r0402020606 40014f01
7 98.1.0 2:log r050207060601003006010008060100080601000806010008 06 400141014101 4f2f4f20
7 98.1.1 2:log r05020706050505050505 400142014f05
7 98.1.2 2:log r00020d06060100300601000806010008060100080601000806050505050505
7 98.1.4 2:log r0002020606
7 98.1.5 2:log r0002020606
7 99.98.0 2:log r010203061209 400121011f01
7 99.98.0 m1:clr
7 99.98.1 2:log r0202020612 40012201
7 99.98.4 2:log r000203061206
7 0.17.99.98.2 2:log r00020406121606
7 0.17.99.98.2 m1:clr
7 99.98.20 2:log r0002020606
# -- twin-element meter (GBCS: a second element with its own import register and TOU
# registers; DCC RTDS 4.5.0 TWIN responses): the logs carry the secondary registers too
@T 7 99.1.0 2:log r030203060606 400141014301
@T 7 98.1.9 2:log r04020906060601003006010004060100080601000806010008060100 08 06
+ 4001410144014101 4f2f44014f034f20
@T 7 98.1.0 2:log r05020906060601003006010004060100080601000806010008060100 08 06
+ 4001410143014101 4f2f43014f034f20
@T 7 98.1.2 2:log r00020f0606060100300601000406010008060100080601000806010008 06 050505050505
""",
    """
# -- data protection: what get_protected_attributes returns, encrypted (GBCS) ----------
p 43.2.1 94.44.34.30/2
p 43.2.2 98.1.0/2 98.1.1/2
p 43.2.3 98.1.2/2
p 43.2.4 99.1.3/2
p 43.2.5 98.1.9/2
p 43.2.6 98.1.8/2
p 43.2.7 99.1.0/2
p 43.2.8 94.44.34.10/2
p 43.2.9 94.44.34.1/2
p 43.2.10 94.44.34.2/2
""",
    """
# -- power quality --------------------------------------------------------------------------
7 1.0.32.24.0 2:log r0002020606
7 1.0.32.24.0 4 u32:1800
7 1.0.52.24.0 2:log r0002020606
7 1.0.52.24.0 4 u32:1800
7 1.0.72.24.0 2:log r0002020606
7 1.0.72.24.0 4 u32:1800
3 1.0.32.32.0.4 2 u32:0
3 1.0.32.32.0.4 3 S(i8:0,e:255)
3 1.0.32.32.0.4 m1:zero
3 1.0.32.36.0.4 2 u32:0
3 1.0.32.36.0.4 3 S(i8:0,e:255)
3 1.0.32.36.0.4 m1:zero
3 1.0.52.32.0.4 2 u32:0
3 1.0.52.32.0.4 3 S(i8:0,e:255)
3 1.0.52.32.0.4 m1:zero
3 1.0.52.36.0.4 2 u32:0
3 1.0.52.36.0.4 3 S(i8:0,e:255)
3 1.0.52.36.0.4 m1:zero
3 1.0.72.32.0.4 2 u32:0
3 1.0.72.32.0.4 3 S(i8:0,e:255)
3 1.0.72.32.0.4 m1:zero
3 1.0.72.36.0.4 2 u32:0
3 1.0.72.36.0.4 3 S(i8:0,e:255)
3 1.0.72.36.0.4 m1:zero
1 1.0.32.31.0.4 2 u32:60
1 1.0.32.35.0.4 2 u32:60
1 1.0.52.31.0.4 2 u32:60
1 1.0.52.35.0.4 2 u32:60
1 1.0.72.31.0.4 2 u32:60
1 1.0.72.35.0.4 2 u32:60
71 17.0.1 4 u32:2760
71 17.0.1 6 u32:30
71 17.0.2 4 u32:2070
71 17.0.2 6 u32:30
71 17.0.3 4 u32:2160
71 17.0.3 6 u32:30
71 17.0.4 4 u32:2530
71 17.0.4 6 u32:30
""",
    """
# -- load limiting, supply, boost and auxiliary load control --------------------------------
70 96.3.10 2:dcout b1
70 96.3.10 3:dcstate e:1
9 10.0.106 m1:ls
9000 94.44.0.3 2 b0
9000 94.44.0.3 4 b0
9000 94.44.0.3 6:act ~
3 94.44.42 2 u32:0
3 94.44.42 3 S(i8:0,e:255)
3 94.44.42 m1:zero
71 17.0.0 4 u32:8000
71 17.0.0 6 u32:600
71 17.0.0 7 u32:60
9000 94.44.128.6 4 u32:600
9000 94.44.128.6 6:act ~
9000 94.44.128.7 4 u32:8000
9000 94.44.128.7 6:act ~
9000 94.44.128.8 4 u32:60
9000 94.44.128.8 6:act ~
21 16.0.0 2 A(u32:3000,u32:6000)
1 94.44.0.1 2 u16:1800
1 94.44.7 2 b0
1 94.44.6.1 2 b0
1 94.44.6.2 2 b0
1 94.44.6.3 2 b0
1 94.44.6.4 2 b0
1 94.44.6.5 2 b0
1 94.44.0.11 2 v'ALCS 1'
1 94.44.0.12 2 v'ALCS 2'
1 94.44.0.13 2 v'ALCS 3'
1 94.44.0.14 2 v'ALCS 4'
1 94.44.0.15 2 v'ALCS 5'
1 94.44.0.21 2 x0000000000000000
1 94.44.0.22 2 x0000000000000000
1 94.44.0.23 2 x0000000000000000
1 94.44.0.24 2 x0000000000000000
1 94.44.0.25 2 x0000000000000000
1 94.44.0.31 2 U'{}'
1 94.44.0.32 2 U'{}'
1 94.44.0.33 2 U'{}'
1 94.44.0.34 2 U'{}'
1 94.44.0.35 2 U'{}'
70 0.1.96.3.10 2 b0
70 0.2.96.3.10 2 b0
70 0.3.96.3.10 2 b0
70 0.4.96.3.10 2 b0
70 0.5.96.3.10 2 b0
11 11.0.3 2 A(S(u16:1,xffff0101ff,u8:1))
11 0.1.11.0.3 2 A(S(u16:1,xffff0101ff,u8:1))
10 12.0.2 2 A(S(u16:1,b0,x00000a0067ff,u16:257,x00000000,u16:65535,B7:fe,B4:00,xffffffffff,
+ xffffffffff))
10 0.1.12.0.2 2 A(S(u16:1,b0,x00000a0067ff,u16:257,x00000000,u16:65535,B7:fe,B4:00,xffffffffff,
+ xffffffffff))
9000 94.44.128.26 6:act ~
9000 94.44.128.35 6:act ~
9 10.0.103 m1:alcs
9 10.0.107 m1
1 94.44.117.1 2:any u16:0
1 94.44.117.2 2:any u16:0
1 94.44.119.1 2:any u16:0
1 94.44.119.2 2:any u16:0
1 94.44.119.3 2:any x07df0101ff000000008000ff
1 94.44.119.4 2:any x07df0101ff000000008000ff
1 94.44.121.1 2:any x07df0101ff000000008000ff
1 94.44.121.2 2:any x07df0101ff000000008000ff
""",
    """
1 94.44.121.3 2:any x07df0101ff000000008000ff
1 94.44.121.4 2:any x07df0101ff000000008000ff
""",
    """
# -- tariff: calendars, special days, thresholds, prices ------------------------------------
20 13.0.0 3 A(S('default',x07df0101ff000000008000ff,x01))
20 13.0.0 4 A(S(x01,7*u8:1))
20 13.0.0 5 A(S(u8:1,A(S(x00000000,x00000a0064ff,u16:1))))
20 13.0.0 7 A(S('default',x07df0101ff000000008000ff,x01))
20 13.0.0 8 A(S(x01,7*u8:1))
20 13.0.0 9 A(S(u8:1,A(S(x00000000,x00000a0064ff,u16:1))))
20 13.0.0 10:act ~
20 13.0.1 3 A(S('default',x07df0101ff000000008000ff,x01))
20 13.0.1 4 A(S(x01,7*u8:1))
20 13.0.1 5 A(S(u8:1,A(S(x00000000,x00000a0064ff,u16:201))))
20 13.0.1 7 A(S('default',x07df0101ff000000008000ff,x01))
20 13.0.1 8 A(S(x01,7*u8:1))
20 13.0.1 9 A(S(u8:1,A(S(x00000000,x00000a0064ff,u16:201))))
20 13.0.1 10:act ~
c 13.0.0/10 13.0.0/7>13.0.0/3 13.0.0/8>13.0.0/4 13.0.0/9>13.0.0/5
c 13.0.1/10 13.0.1/7>13.0.1/3 13.0.1/8>13.0.1/4 13.0.1/9>13.0.1/5
11 11.0.0 2 A(S(u16:1,xffff0101ff,u8:1))
11 0.1.11.0.0 2 A(S(u16:1,xffff0101ff,u8:1))
11 11.0.1 2 A(S(u16:1,xffff0101ff,u8:1))
11 0.1.11.0.1 2 A(S(u16:1,xffff0101ff,u8:1))
11 11.0.2 2 A(S(u16:1,xffff0101ff,u8:1))
11 0.1.11.0.2 2 A(S(u16:1,xffff0101ff,u8:1))
9000 94.44.128.29 6:act ~
9000 94.44.128.30 6:act ~
9000 94.44.128.31 6:act ~
c 94.44.128.29/6 0.1.11.0.0/2>11.0.0/2
c 94.44.128.30/6 0.1.11.0.1/2>11.0.1/2
c 94.44.128.31/6 0.1.11.0.2/2>11.0.2/2
c 94.44.128.35/6 0.1.11.0.3/2>11.0.3/2
c 94.44.128.26/6 0.1.12.0.2/2>12.0.2/2
21 16.0.11 2 A(3*u32:4294967295)
21 16.0.12 2 A(3*u32:4294967295)
21 16.0.13 2 A(3*u32:4294967295)
21 16.0.14 2 A(3*u32:4294967295)
21 16.0.15 2 A(3*u32:4294967295)
21 16.0.16 2 A(3*u32:4294967295)
21 16.0.17 2 A(3*u32:4294967295)
21 16.0.18 2 A(3*u32:4294967295)
21 16.1.11 2 A(3*u32:4294967295)
21 16.1.12 2 A(3*u32:4294967295)
21 16.1.13 2 A(3*u32:4294967295)
21 16.1.14 2 A(3*u32:4294967295)
21 16.1.15 2 A(3*u32:4294967295)
""",
    """
21 16.1.16 2 A(3*u32:4294967295)
21 16.1.17 2 A(3*u32:4294967295)
21 16.1.18 2 A(3*u32:4294967295)
9000 63.1.1 6:act ~
c 63.1.1/6 16.1.11/2>16.0.11/2 16.1.12/2>16.0.12/2 16.1.13/2>16.0.13/2 16.1.14/2>16.0.14/2
+ 16.1.15/2>16.0.15/2 16.1.16/2>16.0.16/2 16.1.17/2>16.0.17/2 16.1.18/2>16.0.18/2
3 94.44.1.7 2 u32:0
3 94.44.1.7 3 S(i8:-5,e:254)
3 94.44.1.8 2 u32:0
3 94.44.1.8 3 S(i8:-5,e:254)
9000 94.44.2.0 2 b1
9000 94.44.2.0 4 b1
9000 94.44.2.0 6:act ~
113 19.20.0 5 S(S(i8:3,i8:-5),S(u16:3,x0100010800ff,i8:2),A(S(x01,i16:20000),S(x02,i16:20000),
+ S(x03,i16:20000),S(x04,i16:20000)))
113 19.20.0 6 S(S(i8:3,i8:-5),S(u16:3,x0100010800ff,i8:2),A(S(x01,i16:20000),S(x02,i16:20000),
+ S(x03,i16:20000),S(x04,i16:20000)))
113 19.20.0 7:act ~
113 19.20.4 5 S(S(i8:0,i8:-5),S(u16:0,x000000000000,i8:0),A(S(x,i16:25000)))
113 19.20.4 6 S(S(i8:0,i8:-5),S(u16:0,x000000000000,i8:0),A(S(x,i16:25000)))
113 19.20.4 7:act ~
113 19.20.5 5 S(S(i8:3,i8:-5),S(u16:3,x0114010800ff,i8:2),A(S(x01,i16:15000),S(x02,i16:15000),
+ S(x03,i16:15000),S(x04,i16:15000)))
113 19.20.5 6 S(S(i8:3,i8:-5),S(u16:3,x0114010800ff,i8:2),A(S(x01,i16:15000),S(x02,i16:15000),
+ S(x03,i16:15000),S(x04,i16:15000)))
113 19.20.5 7:act ~
c 19.20.0/7 19.20.0/6>19.20.0/5
c 19.20.4/7 19.20.4/6>19.20.4/5
c 19.20.5/7 19.20.5/6>19.20.5/5
c 94.44.2.0/6 94.44.2.0/4>94.44.2.0/2
""",
    """
# -- payment mode, credit, debt --------------------------------------------------------------
111 19.0.0 2 S(e:1,e:1)
111 19.0.0 11 A(S(x0000130a00ff,x0000131400ff,B3:e0),S(x0000130a00ff,x0000131404ff,B3:e0))
111 19.0.0 16 i32:200000
111 19.0.0 18 u16:1000
111 19.0.0 19 i32:604800
111 0.1.19.0.0 2 S(e:1,e:1)
111 0.1.19.0.0 11 A(S(x0000130a00ff,x0000131400ff,B3:e0),S(x0000130a00ff,x0000131404ff,B3:e0))
111 0.1.19.0.0 13:act ~
c 0.1.19.0.0/13 0.1.19.0.0/2>19.0.0/2 0.1.19.0.0/11>19.0.0/11
112 19.10.0 2:bal i32:0
112 19.10.0 m1:adj
112 19.10.0 m2:zero
112 19.10.1 9 i32:500000
112 19.10.1 10 i32:100000
112 19.10.1 m2:zero
112 19.10.1 m3:ec
112 19.10.2 m2:zero
113 19.20.1 5 S(S(i8:0,i8:-5),S(u16:0,x000000000000,i8:0),A(S(x,i16:0)))
113 19.20.1 6 S(S(i8:0,i8:-5),S(u16:0,x000000000000,i8:0),A(S(x,i16:0)))
113 19.20.1 8 u32:86400
113 19.20.1 m2:pas
113 19.20.1 m4
113 19.20.2 5 S(S(i8:0,i8:-5),S(u16:0,x000000000000,i8:0),A(S(x,i16:0)))
113 19.20.2 6 S(S(i8:0,i8:-5),S(u16:0,x000000000000,i8:0),A(S(x,i16:0)))
113 19.20.2 8 u32:86400
113 19.20.2 m2:pas
113 19.20.2 m4
113 19.20.3 13 u16:0
113 19.20.3 m4
115 19.40.0 m1:topup
9 10.0.100 m1
10 12.0.1 2 A(S(u16:1,b1,x00000a006aff,u16:32,x00000000,u16:65535,B7:fe,B4:00,xffffffffff,
+ xffffffffff))
10 0.1.12.0.1 2 A(S(u16:1,b1,x00000a006aff,u16:32,x00000000,u16:65535,B7:fe,B4:00,xffffffffff,
+ xffffffffff))
21 16.0.1 2 A(i32:-500000)
9000 94.44.2.10 2 i32:5000000
9000 94.44.2.10 4 i32:5000000
9000 94.44.2.10 6:act ~
9000 94.44.2.20 2 i32:10000000
9000 94.44.2.20 4 i32:10000000
9000 94.44.2.20 6:act ~
9000 94.44.128.2 4 i32:500000
9000 94.44.128.2 6:act ~
9000 94.44.128.3 4 i32:100000
9000 94.44.128.3 6:act ~
9000 94.44.128.9 4 i32:200000
9000 94.44.128.9 6:act ~
9000 94.44.128.12 4 u16:1000
9000 94.44.128.12 6:act ~
9000 94.44.128.13 4 i32:604800
""",
    """
9000 94.44.128.13 6:act ~
9000 94.44.128.22 2 i32:0
9000 94.44.128.22 4 i32:0
9000 94.44.128.22 6:act ~
9000 94.44.128.28 6:act ~
c 94.44.2.10/6 94.44.2.10/4>94.44.2.10/2
c 94.44.2.20/6 94.44.2.20/4>94.44.2.20/2
c 94.44.128.2/6 94.44.128.2/4>19.10.1/9
c 94.44.128.3/6 94.44.128.3/4>19.10.1/10
c 94.44.128.9/6 94.44.128.9/4>19.0.0/16
c 94.44.128.12/6 94.44.128.12/4>19.0.0/18
c 94.44.128.13/6 94.44.128.13/4>19.0.0/19
c 94.44.128.22/6 94.44.128.22/4>94.44.128.22/2
c 94.44.128.28/6 0.1.12.0.1/2>12.0.1/2
c 94.44.0.3/6 94.44.0.3/4>94.44.0.3/2
c 94.44.128.6/6 94.44.128.6/4>17.0.0/6
c 94.44.128.7/6 94.44.128.7/4>17.0.0/4
c 94.44.128.8/6 94.44.128.8/4>17.0.0/7
""",
    """
# -- billing calendar, messages, contact details, alert behaviours ---------------------------
22 15.0.0 4 A(S(x00000000,xffffff01ff))
22 15.1.0 4 A(S(x00000000,xffffffffff))
1 94.44.3.2 2 ~
1 0.2.96.13.1 2 x
1 0.3.96.13.1 2 x
9000 96.13.0 2 x
9000 96.13.1 2 x
1 0.30.97.98.11 2 B512:
1 0.30.97.98.12 2 B512:
1 0.30.97.98.13 2 B512:
1 0.30.97.98.14 2 B512:
1 0.30.97.98.15 2 B256:
1 0.30.97.98.16 2 B256:
1 0.30.97.98.17 2 B256:
1 0.30.97.98.18 2 B256:
1 0.33.97.98.11 2 B512:
1 0.33.97.98.14 2 B512:
1 0.33.97.98.15 2 B256:
1 0.33.97.98.18 2 B256:
""",
    """
# -- use cases (GBCS message codes) ----------------------------------------------------------
u 0007 CS01a S T a19.40.0/1
u 0019 ECS01a S CT s13.0.0/7 s13.0.0/8 s13.0.0/9 s0.1.11.0.0/2 s16.1.11/2 s16.1.12/2 s16.1.13/2
+ s16.1.14/2 s16.1.15/2 s16.1.16/2 s16.1.17/2 s16.1.18/2 s94.44.2.0/4 s19.20.4/6 s19.20.0/6
+ s13.0.0/10 s94.44.128.29/6 s94.44.2.0/6 s19.20.4/7 s19.20.0/7 s63.1.1/6
u 001A ECS02 S CT s0.1.19.0.0/2 s0.1.19.0.0/11 s0.1.19.0.0/13
u 001B ECS03 S CT s0.1.19.0.0/2 s94.44.128.22/4 s0.1.19.0.0/11 s94.44.128.22/6 s0.1.19.0.0/13
u 001C ECS04a S C a19.10.0/1
u 001D ECS05 S C#99 a10.0.100/1
u 001E ECS07 S C s19.20.1/6 s19.20.2/6 s19.20.3/13 s19.20.1/8 s19.20.2/8 a19.20.1/2
+ a19.20.2/2 a19.20.3/4 a19.20.1/4 a19.20.2/4
u 001F ECS08 S CT s0.1.11.0.2/2 s94.44.2.20/2 s94.44.2.10/4 s0.1.12.0.1/2 s94.44.128.12/4
+ s94.44.128.13/4 s94.44.128.9/4 s94.44.128.2/4 s94.44.128.31/6 s94.44.128.3/4 s94.44.2.20/6
+ s94.44.2.10/6 s94.44.128.12/6 s94.44.128.13/6 s94.44.128.9/6 s94.44.128.2/6 s94.44.128.3/6
+ s94.44.128.28/6
u 00DE ECS08a S CT s0.1.11.0.2/2 s94.44.2.20/4 s94.44.2.10/4 s0.1.12.0.1/2 s94.44.128.12/4
+ s94.44.128.13/4 s94.44.128.9/4 s94.44.128.2/4 s94.44.128.31/6 s94.44.128.3/4 s94.44.2.20/6
+ s94.44.2.10/6 s94.44.128.12/6 s94.44.128.13/6 s94.44.128.9/6 s94.44.128.2/6 s94.44.128.3/6
+ s94.44.128.28/6
u 0020 ECS09 S C a19.10.1/3
u 0021 ECS10 S - s0.2.96.13.1/2
u 0022 ECS12 S - s94.44.3.2/2
u 0024 ECS15a S - a99.98.0/1
u 0025 ECS16 S - s96.13.0/2 s96.13.1/2
u 0026 ECS17a SN T g1.0.2.8.0/2 g1.0.2.8.0/3 g1.0.4.8.0/2 g1.0.4.8.0/3
u 0027 ECS17b SN T a43.2.8/1
u 0028 ECS17c SN T g94.44.34.20/2
u 0029 ECS17d SN T a43.2.9/1
u 002A ECS17e SN T a43.2.10/1
u 002B ECS18a SN T g94.44.5.2/2 g1.0.2.6.0/2 g1.0.2.6.0/3 g1.0.2.6.0/5
u 002C ECS18b SN TO g94.44.5.1/2 g1.0.1.6.0/2 g1.0.1.6.0/3 g1.0.1.6.0/5 g1.0.1.6.1/2
+ g1.0.1.6.1/3 g1.0.1.6.1/5
""",
    """
u 002D ECS19 SN T a43.2.1/1
u 002E ECS20a SN - r98.1.4/2
u 002F ECS20b SN - a43.2.3/1
u 0030 ECS20c SN - a43.2.2/1
u 0033 ECS21a SN - a43.2.5/1
u 0034 ECS21b SNA - a43.2.6/1
u 0035 ECS21c SNA - r98.1.10/2
u 0036 ECS22a SN - r99.1.1/2
u 0037 ECS22b SN - a43.2.7/1
u 0038 ECS22c SN - r99.1.2/2
u 0039 ECS23 SN T g1.0.32.32.0.4/2 g1.0.32.32.0.4/3 g1.0.32.36.0.4/2 g1.0.32.36.0.4/3
+ r1.0.32.24.0/2 g1.0.32.24.0/4
u 00BC ECS23b SN TP g1.0.32.32.0.4/2 g1.0.32.32.0.4/3 g1.0.32.36.0.4/2 g1.0.32.36.0.4/3
+ r1.0.32.24.0/2 g1.0.32.24.0/4 g1.0.52.32.0.4/2 g1.0.52.32.0.4/3 g1.0.52.36.0.4/2
+ g1.0.52.36.0.4/3 r1.0.52.24.0/2 g1.0.52.24.0/4 g1.0.72.32.0.4/2 g1.0.72.32.0.4/3
+ g1.0.72.36.0.4/2 g1.0.72.36.0.4/3 r1.0.72.24.0/2 g1.0.72.24.0/4
u 003A ECS24 SN - g94.44.1.7/2 g94.44.1.7/3 g13.0.0/3 g13.0.0/4 g13.0.0/5 g11.0.0/2 g16.0.11/2
+ g16.0.12/2 g16.0.13/2 g16.0.14/2 g16.0.15/2 g16.0.16/2 g16.0.17/2 g16.0.18/2 g94.44.2.0/2
+ g19.20.4/5 g19.20.0/5
u 00BD ECS24b SN W g19.20.5/5 g94.44.1.8/2 g94.44.1.8/3 g11.0.1/2 g13.0.1/3 g13.0.1/4 g13.0.1/5
u 003B ECS26a SN - g19.20.1/5 g11.0.2/2 g19.20.1/8 g19.20.1/5 g19.20.2/5 g19.20.2/8 g19.20.2/5
+ g19.20.3/13 g94.44.2.10/2 g16.0.1/2 g94.44.2.20/2 g19.0.0/16 g19.0.0/18 g19.0.0/19
+ g19.10.1/9 g19.10.1/10 g12.0.1/2 g19.0.0/11
u 003C ECS26b SN - g17.0.1/4 g17.0.1/6 g17.0.2/4 g17.0.2/6 g17.0.3/4 g17.0.3/6 g17.0.4/4
+ g17.0.4/6 g1.0.32.35.0.4/2 g1.0.32.31.0.4/2
u 00C6 ECS26k SN P g17.0.1/4 g17.0.1/6 g17.0.2/4 g17.0.2/6 g17.0.3/4 g17.0.3/6 g17.0.4/4
+ g17.0.4/6 g1.0.32.35.0.4/2 g1.0.32.31.0.4/2 g1.0.52.31.0.4/2 g1.0.52.35.0.4/2
+ g1.0.72.31.0.4/2 g1.0.72.35.0.4/2
u 003D ECS26c SN - g94.44.0.1/2
u 003E ECS26d SN - g15.0.0/4
u 00D9 ECS26l SN - g15.0.0/4
u 003F ECS26e SN - g96.1.1/2 g96.1.2/2 g96.1.4/2 g96.1.6/2 g94.44.0.4/2
u 00F9 ECS26m SN - g96.1.2/2 g96.1.4/2 g96.1.6/2 g94.44.0.4/2
""",
    """
u 0040 ECS26f SN - g16.0.0/2
u 00BE ECS26j SN - g19.0.0/2
u 0042 ECS27 SN - g94.44.0.3/2 g94.44.42/2 g94.44.42/3 g17.0.0/4 g17.0.0/6 g17.0.0/7
u 0043 ECS28a S CT s94.44.0.3/4 s94.44.128.7/4 s94.44.128.6/4 s94.44.128.8/4 s94.44.0.3/6
+ s94.44.128.7/6 s94.44.128.6/6 s94.44.128.8/6
u 0044 ECS28b S - a94.44.42/1
u 0045 ECS29a N - s1.0.32.24.0/4 s17.0.1/4 s17.0.1/6 s17.0.2/4 s17.0.2/6 s17.0.3/4 s17.0.3/6
+ s17.0.4/4 s17.0.4/6 s1.0.32.35.0.4/2 s1.0.32.31.0.4/2 a1.0.32.32.0.4/1 a1.0.32.36.0.4/1
u 00AE ECS29b N P s1.0.32.24.0/4 s1.0.52.24.0/4 s1.0.72.24.0/4 s17.0.1/4 s17.0.1/6 s17.0.2/4
+ s17.0.2/6 s17.0.3/4 s17.0.3/6 s17.0.4/4 s17.0.4/6 s1.0.32.35.0.4/2 s1.0.32.31.0.4/2
+ s1.0.52.31.0.4/2 s1.0.52.35.0.4/2 s1.0.72.31.0.4/2 s1.0.72.35.0.4/2 a1.0.32.32.0.4/1
+ a1.0.32.36.0.4/1 a1.0.52.32.0.4/1 a1.0.52.36.0.4/1 a1.0.72.32.0.4/1 a1.0.72.36.0.4/1
u 00D1 ECS29c N - s1.0.32.31.0.4/2 s1.0.32.35.0.4/2 s1.0.32.24.0/4 s17.0.1/4 s17.0.1/6 s17.0.2/4
+ s17.0.2/6 s17.0.3/4 s17.0.3/6 s17.0.4/4 s17.0.4/6
u 00D2 ECS29d N P s1.0.32.31.0.4/2 s1.0.32.35.0.4/2 s1.0.52.31.0.4/2 s1.0.52.35.0.4/2
+ s1.0.72.31.0.4/2 s1.0.72.35.0.4/2 s1.0.32.24.0/4 s1.0.52.24.0/4 s1.0.72.24.0/4 s17.0.1/4
+ s17.0.1/6 s17.0.2/4 s17.0.2/6 s17.0.3/4 s17.0.3/6 s17.0.4/4 s17.0.4/6
u 00D3 ECS29e N - a1.0.32.32.0.4/1 a1.0.32.36.0.4/1
u 00D4 ECS29f N P a1.0.32.32.0.4/1 a1.0.32.36.0.4/1 a1.0.52.32.0.4/1 a1.0.52.36.0.4/1
+ a1.0.72.32.0.4/1 a1.0.72.36.0.4/1
u 0046 ECS30 S C s15.0.0/4
u 00D7 ECS30a S C s15.0.0/4
u 0047 ECS34 S - s16.0.0/2
u 0048 ECS35a SN - r99.98.0/2
u 0049 ECS35b SN - r99.98.1/2
u 00B9 ECS35e SN - r99.98.4/2
u 00BA ECS35f SN - r0.17.99.98.2/2
u 00FD ECS35g SN - r0.17.99.98.2/2
u 004A ECS37 SN - s12.0.0/2
u 004B ECS38 S C s94.44.0.1/2
u 0062 ECS70 S C a1.0.0/5 a1.0.0/4 | a1.0.0/5
u 0068 ECS81 S C s94.44.0.4/2
u 004C ECS39a S - s94.44.34.11/2
u 004D ECS39b A - s1.0.0.0.2/2
u 004E ECS40 SN - g94.44.34.11/2 g1.0.0.0.2/2
u 004F ECS42 S C#51 a10.0.106/1
""",
    """
u 0050 ECS43 S C#52 a10.0.106/1
u 0051 ECS44 S C#54 a10.0.106/1
u 0052 ECS45 SN - g96.3.10/3
u 0053 ECS46a S CO s94.44.0.11/2 s94.44.0.12/2 s94.44.0.13/2 s94.44.0.14/2 s94.44.0.15/2
u 0054 ECS46c S CTO s94.44.0.21/2 s94.44.0.22/2 s94.44.0.23/2 s94.44.0.24/2 s94.44.0.25/2
+ s0.1.11.0.3/2 s0.1.12.0.2/2 s94.44.128.26/6 s94.44.128.35/6
u 0055 ECS47 S CO s94.44.117.1/2 s94.44.117.2/2 s94.44.119.1/2 s94.44.119.2/2 a10.0.103/1
u 011E ECS47a S CO s94.44.117.1/2 s94.44.117.2/2 s94.44.119.1/2 s94.44.119.2/2
+ s94.44.121.1/2 s94.44.121.2/2 a10.0.103/1
u 011F ECS47e SL CO s94.44.119.3/2 s94.44.119.4/2 s94.44.121.3/2 s94.44.121.4/2 a10.0.107/1
u 0058 ECS50 SA - s0.3.96.13.1/2
u 0059 ECS52 SN - g0.2.1/2
u 005A ECS57 SN O a1.0.1.6.0/1 a1.0.1.6.1/1 a1.0.2.6.0/1
u 005E ECS61c SN - g94.44.7/2 r99.98.20/2 g94.44.6.1/2 g94.44.6.2/2 g94.44.6.3/2 g94.44.6.4/2
+ g94.44.6.5/2
u 005F ECS62 S - s94.44.6.1/2 s94.44.6.2/2 s94.44.6.3/2 s94.44.6.4/2 s94.44.6.5/2
u 0060 ECS66 SN - a43.2.4/1
u 0069 ECS82 SN - g19.10.0/2
u 00A2 ECS01b S CT s19.20.4/6 s19.20.0/6 s19.20.4/7 s19.20.0/7
u 00B7 ECS01c S CTW s19.20.5/6 s13.0.1/7 s13.0.1/8 s13.0.1/9 s0.1.11.0.1/2 s13.0.1/10 s19.20.5/7
+ s94.44.128.30/6
u 00C7 ECS01d S CTW s19.20.5/6 s19.20.5/7
u 00AC ECS25a S - s0.30.97.98.11/2
u 00EA ECS25a1 S - s0.30.97.98.12/2
u 00EB ECS25a2 S - s0.30.97.98.13/2
u 00EC ECS25a3 S - s0.30.97.98.14/2
u 00B0 ECS25b N - s0.33.97.98.11/2
u 00ED ECS25b3 N - s0.33.97.98.14/2
u 00EE ECS25r1 S - g0.30.97.98.15/2 g0.30.97.98.16/2 g0.30.97.98.17/2 g0.30.97.98.18/2
u 00EF ECS25r2 N - g0.33.97.98.15/2 g0.33.97.98.18/2
u 00B3 ECS04b S C a19.10.0/2 a19.10.1/2 a19.10.2/2
u 00C1 ECS15c S - a0.17.99.98.2/1
u 00C9 ECS20d SN - r98.1.5/2
u 00DB ECS48 S C s15.1.0/4
u 00BB ECS61a SN - g94.44.0.11/2 g94.44.0.12/2 g94.44.0.13/2 g94.44.0.14/2 g94.44.0.15/2
+ g94.44.0.21/2 g94.44.0.22/2 g94.44.0.23/2 g94.44.0.24/2 g94.44.0.25/2 g11.0.3/2 g12.0.2/2
+ g0.1.96.3.10/2 g0.2.96.3.10/2 g0.3.96.3.10/2 g0.4.96.3.10/2 g0.5.96.3.10/2
""",
    """
u 011C ECS61d SNA - g94.44.0.11/2 g94.44.0.12/2 g94.44.0.13/2 g94.44.0.14/2 g94.44.0.15/2
+ g11.0.3/2 g12.0.2/2
u 011D ECS61e SN - g94.44.0.21/2 g94.44.0.22/2 g94.44.0.23/2 g94.44.0.24/2 g94.44.0.25/2
+ g94.44.0.31/2 g94.44.0.32/2 g94.44.0.33/2 g94.44.0.34/2 g94.44.0.35/2
# -- security credentials (GBCS section 12; ASN.1 payloads, smets.gbcs.credentials) -------------
u 0008 CS02a AT/T D -
u 011B CS02f AST/ST D -
u 000A CS02c S CD -
u 000B CS02d S CD -
u 000C CS02e SN CD -
u 0102 CS02bSbyS S CTDG -
u 0103 CS02bNbyN N CTDG -
u 0104 CS02bAbyA A TDG -
u 0106 CS02bTbyT T CTDG -
u 0107 CS02bSbyT T CTDG -
u 0108 CS02bRecovery R/R CTDG -
u 0125 CS02gLbyL L CTDG -
u 0126 CS02gLbyS S CTDG -
# -- firmware (GBCS 11.5; ASN.1, smets.devices.esme_fw) --------------------------------------
u 0012 CS06 S CTD -
# -- device log (GBCS 13.7; ASN.1 payloads, smets.devices.joins) ----------------------------
u 000D CS03A1 S CD -
u 000E CS03B SA D -
u 000F CS04AC S CD -
u 0010 CS04B SA D -
u 0013 CS07 SNA D -
""",
)


_INTS = {"u8": (0x11, 1), "u16": (0x12, 2), "u32": (0x06, 4), "u64": (0x15, 8),
         "i8": (0x0F, 1), "i16": (0x10, 2), "i32": (0x05, 4), "i64": (0x14, 8), "e": (0x16, 1)}


def obis(text):
    """6-byte logical name of an OBIS short form (see the module docstring)."""
    g = [int(x) for x in text.split(".")]
    if len(g) == 3:
        g = [0, 0] + g + [255]
    elif len(g) == 4:
        g = [0, 0] + g
    elif len(g) == 5:
        g = g + [255]
    if len(g) != 6:
        raise ValueError("bad OBIS %r" % text)
    return bytes(g)


def value(s, i=0):
    """(A-XDR bytes, position after) of the value notation at s[i]."""
    c = s[i]
    if c in "SA" and s[i + 1] == "(":
        i += 2
        items = []
        while s[i] != ")":
            j = i
            while s[j].isdigit():
                j += 1
            rep = 1
            if j > i and s[j] == "*":
                rep = int(s[i:j])
                i = j + 1
            v, i = value(s, i)
            items += [v] * rep
            if s[i] == ",":
                i += 1
        return bytes((1 if c == "A" else 2,)) + _len(len(items)) + b"".join(items), i + 1
    if c == "'" or (c in "vU" and s[i + 1] == "'"):
        tag = 0x09 if c == "'" else 0x0A if c == "v" else 0x0C
        if c != "'":
            i += 1
        j = s.index("'", i + 1)
        t = s[i + 1:j].encode()
        return bytes((tag,)) + _len(len(t)) + t, j + 1
    j = i
    while j < len(s) and s[j] not in ",)":
        j += 1
    tok = s[i:j]
    if tok == "n":
        return b"\x00", j
    if tok == "~":
        return b"\x09\x0c" + b"\xff" * 9 + b"\x80\x00\xff", j
    if tok in ("b0", "b1"):
        return b"\x03" + (b"\xff" if tok == "b1" else b"\x00"), j
    if c == "x":
        v = bytes.fromhex(tok[1:])
        return b"\x09" + _len(len(v)) + v, j
    if c == "r":
        return bytes.fromhex(tok[1:]), j
    if c == "B":
        n, _, h = tok[1:].partition(":")
        v = bytes.fromhex(h) if h else bytes((int(n) + 7) // 8)
        if len(v) != (int(n) + 7) // 8:
            raise ValueError("bit-string %s: wrong number of bytes" % tok)
        return b"\x04" + _len(int(n)) + v, j
    name, _, num = tok.partition(":")
    tag, size = _INTS[name]
    v = int(num) & ((1 << (8 * size)) - 1)
    return bytes((tag,)) + v.to_bytes(size, "big"), j


def _find(keys, key):
    i = keys.find(key)
    while i > 0 and i % 9:
        i = keys.find(key, i + 1)
    return i // 9 if i >= 0 else -1


def build(text=TEXT, hook_names=HOOKS):
    """The model image parts: (keys, hooks, values, use cases, activation rules, variant
    values).

    keys: 9 bytes per slot; hooks: one byte per slot (index into `hook_names`, HOOKS for the
    ESME; another DLMS device, the CHF, names its own); values: the slots'
    default A-XDR values in `cosem.AttrStore.to_bytes` form. Use-case rows: the format of
    smets.gbcs.usecases, each alternative's words a spec (kind << 13 | slot). Activation
    rules: slot(2) count(1) {source slot(2) destination slot(2)}. Two passes over TEXT, a line
    at a time: the board builds this at first boot.
    """
    classes = {}
    keys = bytearray()
    hooks = bytearray()
    vals = bytearray()
    offs = array("H", [0])

    def key_of(ref, method=False):
        o, _, a = ref.partition("/")
        ln = obis(o)
        if ln not in classes:
            raise ValueError("unknown object %s" % ref)
        return classes[ln].to_bytes(2, "big") + ln + bytes(((0x80 if method else 0) | int(a),))

    def slot(ref, method=False):
        s = _find(keys, key_of(ref, method))
        if s < 0:
            raise ValueError("unknown attribute %s" % ref)
        return s

    def add(cls, ln, a, hook, v):
        key = cls.to_bytes(2, "big") + ln + bytes((a,))
        if _find(keys, key) >= 0:
            raise ValueError("%d %s %d defined twice" % (cls, ln, a))
        keys.extend(key)
        hooks.append(hook_names.index(hook))
        vals.extend(v)
        offs.append(len(vals))

    for line in model_image.logical_lines(text):
        head, _, rest = line.partition(" ")
        if head in ("u", "c") or head[0] == "@":
            continue
        if head == "p":
            # A Data protection object: its get_protected_attributes (method 1) returns the
            # listed attributes; the method's value holds their keys.
            parts = rest.split()
            ln = obis(parts[0])
            classes[ln] = 30
            add(30, ln, 0x81, "dp", b"".join(key_of(r) for r in parts[1:]))
            continue
        ob, _, rest = rest.partition(" ")
        attr, _, rest = rest.partition(" ")
        attr, _, hook = attr.partition(":")
        ln = obis(ob)
        cls = int(head)
        if classes.setdefault(ln, cls) != cls:
            raise ValueError("%s is class %d, not %d" % (ob, classes[ln], cls))
        rest = rest.strip()
        v = b""
        if rest:
            if rest[0] == "r":
                rest = rest.replace(" ", "")
            else:
                rest = rest.replace(", ", ",")  # a value continued on a '+' line
            v, end = value(rest)
            if end != len(rest):
                raise ValueError("trailing text in %r" % line)
        add(cls, ln, 0x80 | int(attr[1:]) if attr[0] == "m" else int(attr), hook, v)
    acts = bytearray()
    ucs = bytearray()
    variants = bytearray()
    for line in model_image.logical_lines(text):
        head, _, rest = line.partition(" ")
        if head[0] == "@":
            # A variant's default: variant letter, slot(2), length(2), value.
            cls, ob, attr, v = rest.split(" ", 3)
            attr = attr.partition(":")[0]
            ln = obis(ob)
            if classes.get(ln) != int(cls):
                raise ValueError("%s: variant value of an unknown object" % line)
            key = int(cls).to_bytes(2, "big") + ln + bytes((int(attr),))
            s = _find(keys, key)
            if s < 0:
                raise ValueError("%s: variant value of an unknown attribute" % line)
            v = v.replace(" ", "") if v[0] == "r" else v.replace(", ", ",")
            v, end = value(v)
            variants.extend(head[1:].encode() + s.to_bytes(2, "big") + len(v).to_bytes(2, "big"))
            variants.extend(v)
            continue
        if head == "c":
            parts = rest.split()
            acts.extend(slot(parts[0]).to_bytes(2, "big") + bytes((len(parts) - 1,)))
            for pair in parts[1:]:
                src, _, dst = pair.partition(">")
                acts.extend(slot(src).to_bytes(2, "big") + slot(dst).to_bytes(2, "big"))
        elif head == "u":
            code, name, roles, flags, specs = rest.split(" ", 4)
            roles, _, sig_only = roles.partition("/")
            r = _roles(roles)
            f = 0
            flags, _, num = flags.partition("#")
            for ch in flags:
                f |= {"C": FLAG_CRITICAL, "T": FLAG_TIME, "O": FLAG_OPTIONAL, "D": FLAG_ASN1,
                      "G": FLAG_SIGNED, "W": FLAG_TWIN, "P": FLAG_POLYPHASE, "-": 0}[ch]
            if num:
                f |= FLAG_SCRIPT
            ucs.extend(int(code, 16).to_bytes(2, "big") + bytes((r, f, len(name))))
            ucs.extend(name.encode())
            if num:
                ucs.extend(int(num).to_bytes(2, "big"))
            if f & FLAG_ASN1:
                # No ACCESS specs to check; the roles that need no MAC instead.
                ucs.extend(bytes((_roles(sig_only), 0)))
                continue
            if sig_only:
                raise ValueError("%s: signature-only roles need an ASN.1 use case" % name)
            alts = specs.split("|")
            ucs.append(len(alts))
            for alt in alts:
                words = alt.split()
                ucs.append(len(words))
                for w in words:
                    kind = "gsar".index(w[0]) + 1
                    ucs.extend(((kind << 13) | slot(w[1:], kind == 3)).to_bytes(2, "big"))
    n = len(offs) - 1
    blob = struct.pack(">%dH" % (n + 2), n, *offs) + vals
    return bytes(keys), bytes(hooks), blob, bytes(ucs), bytes(acts), bytes(variants)


def _roles(letters):
    r = 0
    for ch in letters:
        r |= 1 << ROLE_LETTERS.index(ch)
    return r


def image_text(what, model, version, parts):
    """Source of a generated image module: `parts` (name, bytes) as bytes constants."""
    out = ['"""The %s object model and use cases, compiled from %s.TEXT.' % (what, model),
           "",
           "Generated by `python -m smets.devices.%s`; do not edit (a core test checks" % model,
           "that it matches %s). Layouts: esme_model.build." % model,
           '"""',
           "",
           "VERSION = %d" % version]
    for name, data in parts:
        out += model_image.bytes_constant(name, data)
    return "\n".join(out) + "\n"


def image_source():
    """Source of esme_image.py: the built model as bytes constants (what the board loads)."""
    keys, hooks, blob, ucs, acts, variants = build()
    return image_text("ESME", "esme_model", VERSION, (
        ("KEYS", keys), ("HOOKS", hooks), ("DEFAULTS", blob), ("USE_CASES", ucs),
        ("ACTIVATIONS", acts), ("VARIANTS", variants)))


if __name__ == "__main__":
    model_image.write(__file__, "esme_image", image_source())
