"""Crashes mid-stream: the server killed with -9, the broker restarted (gracefully and with -9).

A device streams reader messages (ten reads each) and climate readings, QoS 1, with a
persistent session. Whatever dies, nothing the server acknowledged may be lost and nothing
redelivered may count twice. Reads are summed per reader (`reads_total`), so their figures
are net; climate readings are one row per message, so theirs are exact.
"""

from __future__ import annotations

import time

from tests.faults.harness import Mosquitto, Stream, furnish, wait_until

MESSAGES = 2000  # 20,000 reads and 400 climate readings


def _run_through(server, counter, stream: Stream, crash, *, at_fraction: float) -> float:
    """Start the stream, call crash() once the twin took in at_fraction of it; crash's time."""
    stream.start()
    wanted = int(MESSAGES * stream.reads_per_message * at_fraction)
    assert wait_until(lambda: counter.reads_total(stream.reader) >= wanted, 40, 0.02), (
        f"the twin took in only {counter.reads_total(stream.reader)} reads before the crash")
    crashed_at = time.monotonic()
    crash()
    return crashed_at


def _figures(counter, stream: Stream) -> tuple:
    reads = counter.reads_tally(stream.reader, stream.reads_published)
    climate = counter.climate_tally(stream.sensor, stream.climate_published)
    return reads, climate


def test_server_kill_9_mid_stream_loses_and_doubles_nothing(broker, make_server, counter,
                                                             figures):
    server = make_server(broker.url)
    room = furnish(server)
    stream = Stream(broker.url, room.reader, room.sensor, room.epcs, MESSAGES)

    def crash() -> None:
        server.kill()
        time.sleep(0.5)
        server.start()  # same client id: the broker hands it what it never acknowledged

    try:
        _run_through(server, counter, stream, crash, at_fraction=0.3)
        stream.join()
        counter.settle(room.reader, room.sensor, want_reads=stream.reads_published,
                       want_climate=stream.climate_published)
    finally:
        stream.close()
    reads, climate = _figures(counter, stream)
    figures("server kill -9", f"reads {reads}; climate {climate}")
    assert (reads.lost, reads.doubled) == (0, 0), reads
    assert (climate.lost, climate.doubled) == (0, 0), climate


def test_broker_graceful_restart_mid_stream_loses_and_doubles_nothing(broker, make_server,
                                                                      counter, figures):
    server = make_server(broker.url)
    room = furnish(server)
    stream = Stream(broker.url, room.reader, room.sensor, room.epcs, MESSAGES)

    def crash() -> None:
        broker.stop()  # saves sessions and queued messages on the way out
        time.sleep(0.5)
        broker.start()

    try:
        _run_through(server, counter, stream, crash, at_fraction=0.3)
        stream.join()
        counter.settle(room.reader, room.sensor, want_reads=stream.reads_published,
                       want_climate=stream.climate_published)
    finally:
        stream.close()
    reads, climate = _figures(counter, stream)
    figures("broker restart", f"reads {reads}; climate {climate}")
    assert (reads.lost, reads.doubled) == (0, 0), reads
    assert (climate.lost, climate.doubled) == (0, 0), climate


def test_broker_kill_9_mid_stream_doubles_nothing_and_loses_only_the_brokers_instant(
        tmp_path, make_server, counter, figures):
    """A broker killed with -9 can lose what it acknowledged just before: that is its own.

    Mosquitto answers PUBACK before it writes its database, even when it writes after every
    change; a kill in between loses those messages for every subscriber. So the loss allowed
    here is bounded by what the broker acknowledged in the last half second before the kill
    (it saves many times a second); a redelivered message must still count once.
    """
    broker = Mosquitto(tmp_path / "broker", save_every_change=True)
    broker.start()
    server = make_server(broker.url)
    room = furnish(server)
    stream = Stream(broker.url, room.reader, room.sensor, room.epcs, MESSAGES)

    def crash() -> None:
        broker.kill()
        time.sleep(0.5)
        broker.start()

    try:
        crashed_at = _run_through(server, counter, stream, crash, at_fraction=0.3)
        stream.join()
        counter.settle(room.reader, room.sensor, want_reads=stream.reads_published,
                       want_climate=stream.climate_published)
    finally:
        stream.close()
        broker.stop()
    reads, climate = _figures(counter, stream)
    instant = stream.device.acked_within(crashed_at - 0.5, crashed_at)
    figures("broker kill -9", f"reads {reads}; climate {climate}; "
            f"acknowledged by the broker in its last 0.5 s: {instant} messages")
    assert reads.doubled == 0 and climate.doubled == 0, (reads, climate)
    # a lost reader message costs its ten reads
    assert reads.lost <= 10 * instant and climate.lost <= instant, (reads, climate, instant)
