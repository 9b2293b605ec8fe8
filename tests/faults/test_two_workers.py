"""Two workers on one shared subscription: each read counted once, each job run once."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from tests.faults.harness import (
    ROOT,
    Stream,
    TopicWatcher,
    climate_message,
    furnish,
    stamp,
    wait_until,
)

MESSAGES = 2000


def test_two_workers_count_each_read_once_and_run_jobs_once(broker, make_server, counter,
                                                           figures):
    server = make_server(broker.url, workers=2)
    room = furnish(server)
    quiet = "th-silent"  # reports every second, then falls silent: the job marks it offline
    server.device(quiet, "sensor", room=room.room, report_interval_s=1)
    alarms = TopicWatcher(broker.url, f"{ROOT}/alarms/+")
    statuses = TopicWatcher(broker.url, f"{ROOT}/devices/{quiet}/status")
    stream = Stream(broker.url, room.reader, room.sensor, room.epcs, MESSAGES)
    try:
        stream.start()
        stream.device.send(f"{ROOT}/sensors/{quiet}/climate",
                           climate_message(1, stamp(datetime.now(UTC), 0)))
        stream.join()
        counter.settle(room.reader, room.sensor, want_reads=stream.reads_published,
                       want_climate=stream.climate_published)

        def offline_alarms() -> list[dict]:
            page = server.api("GET", "/api/alarms", params={"kind": "sensor_offline"}).json()
            return [a for a in page["items"] if a["subject"] == quiet]

        # silent for 3 s is offline; the job looks every 15 s: both workers' schedulers run it
        wait_until(lambda: bool(offline_alarms()), 40, 0.5)
        time.sleep(16)  # one more round of the job on both workers
        raised = offline_alarms()
        on_mqtt = alarms.where(lambda _t, d: d.get("kind") == "sensor_offline"
                               and d.get("subject") == quiet and d.get("state") == "active")
        said_offline = statuses.where(lambda _t, d: d.get("state") == "offline")
    finally:
        stream.close()
        alarms.close()
        statuses.close()
    reads = counter.reads_tally(room.reader, stream.reads_published)
    climate = counter.climate_tally(room.sensor, stream.climate_published)
    figures("two workers", f"reads {reads}; climate {climate}; sensor_offline alarms "
            f"{len(raised)} (on MQTT {len(on_mqtt)}), offline status published {len(said_offline)}")
    assert (reads.lost, reads.doubled) == (0, 0), reads
    assert (climate.lost, climate.doubled) == (0, 0), climate
    assert (len(raised), len(on_mqtt), len(said_offline)) == (1, 1, 1)
