"""Real alert receivers on loopback for delivery tests: an HTTP webhook that records what is
POSTed (or answers 503), and a UDP syslog socket. Used by monitoring's and compliance's tests."""

from __future__ import annotations

import http.server
import json
import socket
import threading
import time


def until(what, timeout: float = 20.0, every: float = 0.1):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        got = what()
        if got:
            return got
        time.sleep(every)
    return what()


class Webhook:
    """A real HTTP server that records what is POSTed; `fail` makes it answer 503."""

    def __init__(self):
        self.posts: list[dict] = []
        self.headers: list[dict] = []
        self.fail = False
        outer = self

        class H(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if outer.fail:
                    self.send_response(503)
                    self.end_headers()
                    return
                outer.posts.append(json.loads(body))
                outer.headers.append(dict(self.headers))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *a):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/alerts"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class Syslog:
    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.lines: list[bytes] = []

    def drain(self) -> list[bytes]:
        try:
            while True:
                self.lines.append(self.sock.recvfrom(65535)[0])
        except TimeoutError:
            return self.lines
