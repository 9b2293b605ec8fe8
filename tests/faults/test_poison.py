"""A poisoned message in a stream costs only itself: every good read counted, one reject each."""

from __future__ import annotations

import json

from tests.faults.harness import ROOT, Device, base_time, furnish, reads_message, stamp

GOOD = 2000
READS = 5


def test_poisoned_messages_cost_only_themselves(broker, make_server, counter, figures):
    server = make_server(broker.url)
    room = furnish(server)
    scanner = "hh-poison"
    server.device(scanner, "scanner")
    reads_topic = f"{ROOT}/readers/{room.reader}/reads"
    scans_topic = f"{ROOT}/scanners/{scanner}/scans"
    base = base_time()
    # Each is valid JSON on the wire; each breaks something further in. The scans name a box
    # after a good scan of the shelf, so the server shelves it and records who did it.
    poison = {
        500: (scans_topic, json.dumps({"ts": stamp(base, 500), "seq": 2, "code": room.boxes[0],
                                       "operator": "\ud800"})),           # a lone surrogate
        1000: (reads_topic, reads_message(2**63, stamp(base, 100_000),    # seq beyond 2^63-1
                                          [(room.epcs[0], 1, 1)])),
        1500: (scans_topic, json.dumps({"ts": stamp(base, 1500), "seq": 3, "code": room.boxes[1],
                                        "operator": "ann\u0000"})),        # a NUL
    }
    device = Device(broker.url)
    try:
        device.send(scans_topic, json.dumps({"ts": stamp(base, 0), "seq": 1, "code": room.shelf,
                                             "operator": "ann"}))
        for seq in range(1, GOOD + 1):
            reads = [(room.epcs[(seq + k) % len(room.epcs)], 1, 1) for k in range(READS)]
            device.send(reads_topic, reads_message(seq, stamp(base, seq), reads))
            if seq in poison:
                device.send(*poison[seq])
        assert device.wait_acked(30)
        counter.settle(room.reader, None, want_reads=GOOD * READS, want_climate=0)
        # rejects of the last batch may be written after its reads: give them a moment
        counter.settle(room.reader, None, want_reads=GOOD * READS, want_climate=0, quiet_s=1)
    finally:
        device.close()
    reads = counter.reads_tally(room.reader, GOOD * READS)
    rejects = counter.rejects()
    on_scans = [r for r in rejects if r[1] == scans_topic]
    on_reads = [r for r in rejects if r[1] == reads_topic]
    figures("poisoned stream", f"reads {reads}; poisoned 3, rejects {len(rejects)} "
            f"({len(on_scans)} scanner, {len(on_reads)} reader)")
    assert (reads.lost, reads.doubled) == (0, 0), reads
    assert (len(on_scans), len(on_reads), len(rejects)) == (2, 1, 3), rejects
    # the API shows them too, with a reason a person can act on
    shown = server.api("GET", "/api/devices/rejects").json()
    assert shown["total"] == 3 and all(item["reason"] for item in shown["items"]), shown
