"""A policy hook server for the integration tests, speaking smppd's hook
protocol (README.md, "External policy hooks"): name=value lines ending
with an empty line in, "action=..." and an empty line out, one request
after the other on each connection.

    s = HookServer("unix:/tmp/x/hook.sock", mode="judge")   # or tcp:127.0.0.1:0
    s.address   # the address to put in policy.yaml (the TCP port filled in)
    s.requests  # every request seen, as dicts (values %XX-decoded)
    s.connections  # connections accepted so far

Modes: "judge" answers by the text: REJECTME reject, DEFERME defer,
TCPREJECT reject when the server is named "tcp", else accept (postfix's
DUNNO for every third, to show it reads as accept); "silent" reads and never
answers; "garbage" answers a line that is not the protocol; "flaky" judges
the first request on a connection and closes the connection, unanswered,
on the second (as a server closing a link it thought idle).
"""
import os
import socket
import threading
import urllib.parse


def decode_request(raw):
    out = {}
    for line in raw.decode("utf-8", "replace").split("\n"):
        if "=" in line:
            k, v = line.split("=", 1)
            out[k] = urllib.parse.unquote(v)
    return out


class HookServer:
    def __init__(self, address, mode="judge", name=""):
        self.mode, self.name = mode, name
        self.requests, self.connections = [], 0
        self.lock = threading.Lock()
        self.socks = []
        if address.startswith("unix:"):
            path = address[5:]
            if os.path.exists(path):
                os.unlink(path)
            self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.listener.bind(path)
            self.address = address
        else:
            host, port = address[4:].rsplit(":", 1)
            self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            self.listener.bind((host, int(port)))
            self.address = "tcp:%s:%d" % self.listener.getsockname()
        self.listener.listen(64)
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                s, _ = self.listener.accept()
            except OSError:
                return
            with self.lock:
                self.connections += 1
                self.socks.append(s)
            threading.Thread(target=self._serve, args=(s,), daemon=True).start()

    def answer(self, req):
        text = req.get("text", "")
        if "REJECTME" in text:
            return "action=reject fraud score 97 (%s)" % self.name
        if "DEFERME" in text:
            return "action=defer come back later"
        if "TCPREJECT" in text and self.name == "tcp":
            return "action=REJECT tcp says no"
        return "action=DUNNO" if len(self.requests) % 3 == 0 else "action=accept"

    def _serve(self, s):
        buf, served = b"", 0
        while True:
            try:
                data = s.recv(65536)
            except OSError:
                return
            if not data:
                s.close()
                return
            buf += data
            while b"\n\n" in buf:
                raw, buf = buf.split(b"\n\n", 1)
                req = decode_request(raw)
                with self.lock:
                    self.requests.append(req)
                if self.mode == "silent":
                    continue
                if self.mode == "flaky" and served == 1:
                    s.close()
                    return
                served += 1
                if self.mode == "garbage":
                    reply = "hello, I am not a policy server\n\n"
                else:
                    reply = "score=1\n" + self.answer(req) + "\n\n"
                try:
                    s.sendall(reply.encode())
                except OSError:
                    return

    def texts(self):
        with self.lock:
            return [r.get("text", "") for r in self.requests]

    def close(self):
        self.listener.close()
        for s in self.socks:
            try:
                s.close()
            except OSError:
                pass
