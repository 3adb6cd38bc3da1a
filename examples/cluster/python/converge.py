"""converge: a client for a converge node's HTTP API (package node/httpapi).

Standard library only. Run a sidecar with
    go run ./examples/cluster -name a -http 127.0.0.1:8081 -token s3cret
and then, from Python:

    import converge
    c = converge.Client("http://127.0.0.1:8081", token="s3cret")
    c.inc("jobs", 2)                       # GCounter
    c.set("claims", "task-1", "agent-a")   # LWW-Map field
    c.add("agents", "agent-a")             # OR-Set element
    print(c.get("claims")["value"])        # {'task-1': 'agent-a'}
    for ev in c.changes():                 # resumes after a disconnect
        print(ev.kind, ev.data)

or from a shell: python3 converge.py URL get KEY | inc KEY N | set KEY FIELD
JSON | add KEY JSON | status | watch.

Counter values and sequence numbers are decimal strings in the JSON (they
are 64-bit); value() converts counters to int.
"""

import json
import sys
import time
import urllib.error
import urllib.request

__all__ = ["Client", "Event", "Error"]


class Error(Exception):
    """An HTTP error answer: status code and the server's message."""

    def __init__(self, status, message):
        super().__init__("%d: %s" % (status, message))
        self.status = status
        self.message = message


class Event:
    """One change-stream event: kind ("snapshot", "change", "member"),
    id (the cursor, or None) and data (decoded JSON)."""

    def __init__(self, kind, id, data):
        self.kind, self.id, self.data = kind, id, data

    def __repr__(self):
        return "Event(%r, %r, %r)" % (self.kind, self.id, self.data)


class Client:
    """A converge node over HTTP. token authorises writes."""

    def __init__(self, base, token=None, timeout=10):
        self.base = base.rstrip("/")
        self.token = token
        self.timeout = timeout
        self.cursor = None  # last change-stream id processed

    def _request(self, method, path, body=None, timeout=None):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.base + path, data=data, method=method)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        if self.token:
            req.add_header("Authorization", "Bearer " + self.token)
        try:
            with urllib.request.urlopen(req, timeout=timeout or self.timeout) as resp:
                return json.loads(resp.read())
        except urllib.error.HTTPError as e:
            raw = e.read()
            try:
                msg = json.loads(raw).get("error", raw.decode())
            except ValueError:
                msg = raw.decode(errors="replace")
            raise Error(e.code, msg) from None

    def _write(self, key, body):
        return self._request("POST", "/v1/keys/" + urllib.request.quote(key), body)

    # Reads.
    def status(self):
        return self._request("GET", "/v1/status")

    def ready(self):
        try:
            return self._request("GET", "/v1/ready")
        except Error as e:
            if e.status == 503:
                return {"ready": False, "reason": e.message}
            raise

    def keys(self):
        return self._request("GET", "/v1/keys")

    def get(self, key):
        return self._request("GET", "/v1/keys/" + urllib.request.quote(key))

    def value(self, key):
        """The key's value, counters as int."""
        v = self.get(key)
        if v["type"] in ("GCounter", "PNCounter"):
            return int(v["value"])
        return v["value"]

    # Writes (need the token).
    def inc(self, key, by=1, counter="GCounter"):
        return self._write(key, {"type": counter, "op": "inc", "by": str(by)})

    def dec(self, key, by=1):
        return self._write(key, {"type": "PNCounter", "op": "dec", "by": str(by)})

    def add(self, key, element):
        return self._write(key, {"type": "ORSet", "op": "add", "element": element})

    def remove(self, key, element):
        return self._write(key, {"type": "ORSet", "op": "remove", "element": element})

    def set(self, key, field, value):
        return self._write(key, {"type": "LWWMap", "op": "set", "field": field, "value": value})

    def delete(self, key, field):
        return self._write(key, {"type": "LWWMap", "op": "delete", "field": field})

    # The change stream.
    def changes(self, reconnect=True, idle_timeout=60):
        """Yield Events forever. After a disconnect it reconnects with the
        last id it yielded, so no change is missed (the server sends every
        key changed since). Set self.cursor to resume from a stored id."""
        while True:
            req = urllib.request.Request(self.base + "/v1/changes")
            if self.cursor:
                req.add_header("Last-Event-ID", self.cursor)
            try:
                with urllib.request.urlopen(req, timeout=idle_timeout) as resp:
                    kind, id, data = None, None, None
                    for raw in resp:
                        line = raw.decode().rstrip("\n")
                        if line.startswith(":"):
                            continue
                        if line == "":
                            if kind is not None:
                                if id:
                                    self.cursor = id
                                yield Event(kind, id, json.loads(data) if data else None)
                            kind, id, data = None, None, None
                        elif line.startswith("event: "):
                            kind = line[7:]
                        elif line.startswith("id: "):
                            id = line[4:]
                        elif line.startswith("data: "):
                            data = line[6:]
            except (OSError, urllib.error.URLError) as e:
                if isinstance(e, urllib.error.HTTPError) and e.code == 400:
                    raise Error(400, e.read().decode(errors="replace")) from None
                if not reconnect:
                    raise
            if not reconnect:
                return
            time.sleep(0.5)


def _main(argv):
    if len(argv) < 3:
        print(__doc__)
        return 2
    import os

    c = Client(argv[1], token=os.environ.get("CONVERGE_TOKEN"))
    cmd, args = argv[2], argv[3:]
    if cmd == "status":
        out = c.status()
    elif cmd == "ready":
        out = c.ready()
    elif cmd == "keys":
        out = c.keys()
    elif cmd == "get":
        out = c.get(args[0])
    elif cmd == "inc":
        out = c.inc(args[0], int(args[1]) if len(args) > 1 else 1)
    elif cmd == "set":
        out = c.set(args[0], args[1], json.loads(args[2]))
    elif cmd == "add":
        out = c.add(args[0], json.loads(args[1]))
    elif cmd == "watch":
        for ev in c.changes():
            print(ev.kind, json.dumps(ev.data), flush=True)
        return 0
    else:
        print("unknown command %r" % cmd, file=sys.stderr)
        return 2
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv))
