"""Boards as the host reaches them: the serial transport, virtual boards (the unix port on a
pty), in-process firmware cores and the .mpy build."""
