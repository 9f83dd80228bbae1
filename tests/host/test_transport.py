"""BoardLink over pyserial's loop:// — what a board sends is handled, bad replies included."""

import json
import threading

from smets import link
from smetsbench.boards.transport import BoardError, BoardLink


class _Board(BoardLink):
    """A BoardLink whose board is this test: frames sent are kept, not echoed (loop:// would
    hand our own requests back as if they were replies)."""

    def _write(self, data):
        self.sent.append(data)


def _link():
    lnk = _Board("loop://", name="loop")
    lnk.sent = []
    return lnk


def _reply(lnk, payload):
    lnk._received(link.encode(link.CONTROL, 0, payload))


def test_control_reply_is_matched_by_id():
    lnk = _link()
    try:
        # loop:// echoes our own request back; answer it from a thread like a board would.
        def answer():
            import time

            time.sleep(0.05)
            _reply(lnk, json.dumps({"id": 1, "ok": True, "result": 42}).encode())

        threading.Thread(target=answer).start()
        assert lnk.control("status", timeout=2) == 42
    finally:
        lnk.close()


def test_unusable_replies_are_counted_and_the_link_lives_on():
    lnk = _link()
    try:
        for bad in (b"[1, 2]", b'{"id": [1]}', b"not json", b'"text"'):
            _reply(lnk, bad)
        assert lnk.bad_replies == 4
        assert lnk.error is None
        lnk.history.clear()
        _reply(lnk, json.dumps({"id": 99, "ok": True}).encode())  # no waiter: ignored
        assert lnk.history[-1].payload.startswith(b'{"id": 99')
    finally:
        lnk.close()


def test_error_reply_raises_board_error():
    lnk = _link()
    try:
        def answer():
            import time

            time.sleep(0.05)
            _reply(lnk, json.dumps({"id": 1, "ok": False, "error": "ValueError: no"}).encode())

        threading.Thread(target=answer).start()
        try:
            lnk.control("provision", timeout=2)
        except BoardError as exc:
            assert "ValueError: no" in str(exc)
        else:
            raise AssertionError("no BoardError")
    finally:
        lnk.close()
