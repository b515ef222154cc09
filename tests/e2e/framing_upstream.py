"""A service that answers with each body framing HTTP/1.1 allows, byte for
byte, so the gateway's reading of upstream responses can be tested against
what real services send (chunked, close-delimited, split writes, bodies
too large to hold, events that come a second apart), and against
what a broken or hostile one sends (bytes beyond the response, a malformed
head). Usage: framing_upstream.py PORT"""
import base64
import collections
import email.utils
import hashlib
import socketserver
import sys
import threading
import time

hits = collections.Counter()  # requests to /once/..., by target
hits_lock = threading.Lock()


def big_body():
    """20 MiB that the test can make again: the bytes 0..250 repeated."""
    return bytes(range(251)) * (20 * 1024 * 1024 // 251) + bytes(range(20 * 1024 * 1024 % 251))


class Handler(socketserver.StreamRequestHandler):
    def handle(self):
        self.target = ""
        try:
            self.serve()
        except (ConnectionResetError, BrokenPipeError):  # reset: counted for health pages
            if self.target == "/framing/health-page":
                with hits_lock:
                    hits["/reset" + self.target] += 1

    def serve(self):
        while True:
            line = self.rfile.readline()
            if not line:
                return
            method, target, _ = line.decode("latin-1").split(" ", 2)
            self.target = target
            headers = {}
            fields = b""
            while True:
                field = self.rfile.readline()
                if field in (b"\r\n", b""):
                    break
                fields += field
                name, value = field.decode("latin-1").split(":", 1)
                headers[name.strip().lower()] = value.strip()
            if target.startswith("/hangup"):  # takes the request, never answers
                return
            if target.startswith("/once/"):  # what must reach the service once only
                with hits_lock:
                    hits[target] += 1
                if target == "/once/partial":  # an answer begun, then cut
                    self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-")
                    self.wfile.flush()
                    return
                if target == "/once/hangup":  # no answer at all
                    return
                if target == "/once/slow":  # slower than the gateway waits
                    time.sleep(1)
            if target.startswith("/again"):
                # /again.../KEY/N/WHAT: the first N requests for KEY get WHAT
                # (a status, `slow`: an answer a second late, or `drop`: the
                # connection closed unanswered), the rest 200.
                # STATUS+S asks for a try again S seconds later (Retry-After),
                # STATUS@S the same as an HTTP-date.
                _, _, key, n, what = target.split("/")
                self.rfile.read(int(headers.get("content-length", "0")))
                with hits_lock:
                    hits[target] += 1
                    hit = hits[target]
                if hit <= int(n) and what == "drop":  # read, then hung up on, unanswered
                    return
                if hit <= int(n) and what == "slow":
                    time.sleep(1)
                elif hit <= int(n):
                    body = b"no %d\n" % hit
                    status, later = what, b""
                    if "+" in what:
                        status, seconds = what.split("+")
                        later = b"Retry-After: %s\r\n" % seconds.encode()
                    elif "@" in what:
                        status, seconds = what.split("@")
                        when = email.utils.formatdate(time.time() + int(seconds), usegmt=True)
                        later = b"Retry-After: %s\r\n" % when.encode()
                    self.wfile.write(b"HTTP/1.1 %s Failed\r\n%sContent-Length: %d\r\n\r\n"
                                     % (status.encode(), later, len(body)) + body)
                    self.wfile.flush()
                    continue
                body = b"yes %d\n" % hit
                self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
                self.wfile.flush()
                continue
            if target.startswith("/framing/hits/"):  # how often /once/... or /again... came
                with hits_lock:
                    count = b"%d" % hits[target[len("/framing/hits"):]]
                self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(count) + count)
                continue
            if target.startswith("/ws101/"):
                # A 101 to websocket whose Sec-WebSocket-Accept answers the
                # key sent (/ws101/right) or another one (/ws101/wrong),
                # then a line in the new protocol and the end of the tunnel.
                key = headers.get("sec-websocket-key", "")
                if target != "/ws101/right":
                    key += "x"
                guid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
                accept = base64.b64encode(hashlib.sha1((key + guid).encode()).digest())
                self.wfile.write(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                                 b"Connection: Upgrade\r\nSec-WebSocket-Accept: " + accept +
                                 b"\r\n\r\ntunnelled\n")
                self.wfile.flush()
                return
            if target == "/least/events":  # a stream that lasts two seconds
                self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                                 b"Transfer-Encoding: chunked\r\n\r\n")
                for event in (b"data: one\n\n", b"data: two\n\n"):
                    self.wfile.write(b"%x\r\n" % len(event) + event + b"\r\n")
                    self.wfile.flush()
                    time.sleep(1)
                self.wfile.write(b"0\r\n\r\n")
                self.wfile.flush()
                continue
            if target.startswith("/least"):  # the slower endpoint of two
                # (of five: held longer, while twenty requests go by)
                time.sleep(8 if target.startswith("/least-many") else 1.5)
                self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nslow\n")
                self.wfile.flush()
                continue
            if target == "/framing/refuse-upload":  # answers on the head and hangs up
                self.wfile.write(b"HTTP/1.1 413 Content Too Large\r\nContent-Length: 9\r\n"
                                 b"Connection: close\r\n\r\ntoo big!\n")
                self.wfile.flush()
                return
            if target == "/framing/upload-split-interim":  # a 100 Continue in two writes
                self.wfile.write(b"HTTP/1.1 100 Continue\r\n")
                self.wfile.flush()
                time.sleep(0.3)
                self.wfile.write(b"\r\n")
                self.wfile.flush()
            if headers.get("transfer-encoding", "").lower() == "chunked":
                body = self.read_chunks()
            else:
                body = self.rfile.read(int(headers.get("content-length", "0")))
            out = self.wfile
            if target == "/framing/head":  # the field lines as they arrived
                out.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(fields) + fields)
            elif target == "/framing/chunked":
                out.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                          b"4\r\nchun\r\n5;ext=1\r\nked!\n\r\n0\r\nX-Trailer: t\r\n\r\n")
            elif target == "/framing/close":
                out.write(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil close\n")
                out.flush()
                return
            elif target == "/framing/extra":
                # A second response nobody asked for, queued behind the first.
                out.write(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nok\n"
                          b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nsmuggled\n")
            elif target == "/framing/long-then-more":
                # A body longer than one read of the gateway's, then a second
                # response nobody asked for, in the same write: the rest of
                # the body is read to its length, the stray answer left in
                # the socket.
                body = b"x" * 40000 + b"\n"
                out.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body) + body +
                          b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nsmuggled\n")
            elif target == "/framing/split":
                for piece in (b"HTTP/1.1 200 OK\r\nContent-", b"Length: 6\r\n\r\nsp", b"lit\n"):
                    out.write(piece)
                    out.flush()
                    time.sleep(0.05)
            elif target == "/framing/malformed":
                out.write(b"HTTP/1.1 200 OK\r\nNo colon here\r\nContent-Length: 2\r\n\r\nok")
            elif target == "/framing/gzip-coded":  # a coding the client would not be told of
                out.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"
                          b"3\r\nabc\r\n0\r\n\r\n")
            elif target == "/framing/status-999":  # outside 100-599
                out.write(b"HTTP/1.1 999 Odd\r\nContent-Length: 2\r\n\r\nok")
            elif target == "/framing/bare-lf":  # lines ended by LF alone: never a whole head
                out.write(b"HTTP/1.1 200 OK\nContent-Length: 2\n\nok")
                out.flush()
                time.sleep(3)
            elif target == "/framing/stall":  # outlasts the gateway's drain at shutdown
                time.sleep(20)
            elif target.startswith("/late"):  # slower than the gateway waits
                time.sleep(2)
                out.write(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nlate\n")
            elif target == "/framing/interim":  # interim answers before the final one
                out.write(b"HTTP/1.1 100 Continue\r\n\r\n"
                          b"HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n")
                out.flush()
                time.sleep(0.05)
                out.write(b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nfinal\n")
            elif target == "/framing/no-content-then-more":
                # A body after a 204, late: it must not answer the next request.
                out.write(b"HTTP/1.1 204 No Content\r\n\r\n")
                out.flush()
                time.sleep(0.1)
                out.write(b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nsmuggled\n")
            elif target in ("/framing/fields", "/framing/fields-chunked"):
                # Fields of this hop (hop-by-hop, those Connection names, the
                # framing) mixed with fields for the client, in odd cases.
                framing = (b"Transfer-Encoding: chunked\r\n" if target.endswith("chunked")
                           else b"Content-Length: 3\r\n")
                body = b"3\r\nok\n\r\n0\r\n\r\n" if target.endswith("chunked") else b"ok\n"
                out.write(b"HTTP/1.1 200 OK\r\nX-App:  kept  \r\nConnection: keep-alive, X-Hop\r\n"
                          b"Keep-Alive: timeout=5\r\nX-HOP: dropped\r\nDate: Mon, 01 Jan 2024 00:00:00 GMT\r\n"
                          b"Proxy-Connection: x\r\nUpgrade: h2c\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\n"
                          + framing + b"x-tail:\tv\r\n\r\n" + body)
            elif target == "/framing/health-page":  # a health page of 100 kB
                body = b"up " * 33334
                out.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
            elif target == "/framing/big":  # far beyond what the gateway holds
                body = big_body()
                out.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body)
                          + (body if method != "HEAD" else b""))
            elif target == "/framing/big-chunked":
                body = big_body()
                out.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
                if method != "HEAD":
                    for at in range(0, len(body), 100000):
                        piece = body[at:at + 100000]
                        out.write(b"%x\r\n" % len(piece) + piece + b"\r\n")
                    out.write(b"0\r\n\r\n")
            elif target == "/framing/events":  # server-sent events, a second apart
                out.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                          b"Transfer-Encoding: chunked\r\n\r\n")
                for event in (b"data: one\n\n", b"data: two\n\n"):
                    out.write(b"%x\r\n" % len(event) + event + b"\r\n")
                    out.flush()
                    time.sleep(1)
                out.write(b"0\r\n\r\n")
            elif target == "/framing/cut":  # less than it promised, then gone
                out.write(b"HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n" + big_body()[:300000])
                out.flush()
                return
            elif target == "/framing/no-content":
                out.write(b"HTTP/1.1 204 No Content\r\n\r\n")
            elif target == "/framing/many-fields":  # more fields than the gateway takes
                out.write(b"HTTP/1.1 200 OK\r\n" + b"".join(b"X-F%d: v\r\n" % i for i in range(300))
                          + b"Content-Length: 2\r\n\r\nok")
            elif target == "/framing/many-named":
                # Connection names thousands of fields, each of them sent,
                # in another case: all of this hop's, none the client's.
                names = [b"x-n%d" % i for i in range(3000)]
                out.write(b"HTTP/1.1 200 OK\r\nConnection: " + b", ".join(names) + b"\r\n"
                          + b"".join(name.upper() + b": v\r\n" for name in names[::20])
                          + b"X-N: kept\r\nContent-Length: 2\r\n\r\nok")
            elif target in ("/framing/upload", "/framing/upload-split-interim",
                            "/secure/upload"):  # how a body came, its digest
                framing = b"chunked" if "transfer-encoding" in headers else b"length"
                reply = b"%s %d %s %s" % (method.encode(), len(body), framing,
                                          hashlib.sha256(body).hexdigest().encode())
                out.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(reply) + reply)
            else:  # echo: the method, the body's length and the body
                reply = b"%s %d " % (method.encode(), len(body)) + body
                out.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(reply) + reply)
            out.flush()


    def read_chunks(self):
        body = b""
        while True:
            size = int(self.rfile.readline().split(b";")[0], 16)
            if size == 0:
                while self.rfile.readline() not in (b"\r\n", b""):  # trailers
                    pass
                return body
            body += self.rfile.read(size)
            self.rfile.readline()


class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    # Connections opened together (the gateway's to several requests at
    # once) must not overflow the listen queue (5 by default): a dropped
    # SYN is sent again only a second later, and that try starts late.
    request_queue_size = 128


Server(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
