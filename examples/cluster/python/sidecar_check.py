"""Drives two sidecars for examples/cluster's TestSidecarFromPython: write on
A, and see B's change stream deliver the change; then disconnect from B,
write again on A, and see the resumed stream deliver that too.

usage: python3 sidecar_check.py URL_A URL_B TOKEN
"""

import sys
import threading
import time

import converge


def wait_for(events, pred, what, timeout=60):
    deadline = time.time() + timeout
    for ev in events:
        if pred(ev):
            return ev
        if time.time() > deadline:
            break
    raise SystemExit("timed out waiting for " + what)


def main():
    a = converge.Client(sys.argv[1], token=sys.argv[3])
    b = converge.Client(sys.argv[2])
    try:
        b.inc("x", 1)
        raise SystemExit("a write without the token was accepted")
    except converge.Error as e:
        assert e.status == 403, e

    # A watchdog: the stream blocks; fail rather than hang.
    threading.Timer(120, lambda: (print("watchdog: no progress"), sys.stdout.flush(), __import__("os")._exit(3))).start()

    stream = b.changes()
    first = next(stream)
    assert first.kind == "snapshot", first
    a.set("claims", "task-1", "agent-a")
    ev = wait_for(stream, lambda e: e.kind == "change" and e.data["key"] == "claims"
                  and e.data["value"].get("task-1") == "agent-a", "claims on B")
    print("B streamed", ev.data["key"], ev.data["value"], "id", ev.id)

    # Disconnect (drop the generator), write on A while away, resume.
    stream.close()
    a.inc("jobs", 5)
    deadline = time.time() + 60
    while True:
        try:
            if b.value("jobs") == 5:
                break
        except converge.Error:
            pass
        if time.time() > deadline:
            raise SystemExit("jobs never reached B")
        time.sleep(0.05)
    resumed = b.changes()  # b.cursor holds the last id seen
    ev = wait_for(resumed, lambda e: e.kind == "change" and e.data["key"] == "jobs", "jobs after resume")
    assert ev.data["value"] == "5", ev.data
    print("B resumed from", b.cursor, "and streamed jobs =", ev.data["value"])
    print("ok")
    sys.stdout.flush()
    __import__("os")._exit(0)


if __name__ == "__main__":
    main()
