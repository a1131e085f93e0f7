"""HTTP corner cases for PlusGuidanceNetworking's tests, on plain HTTP and TLS.

Usage: corner_server.py [--tls CERT KEY]
Prints "port N" on stdout once listening and exits when stdin closes (its parent test process
is gone). Only the Python standard library.
"""
import gzip
import json
import socketserver
import ssl
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

attempts = {}
attempts_lock = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def send_body(self, status, body, content_type="text/plain", extra=()):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in extra:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        self.do_GET()

    def do_PUT(self):
        self.do_GET()

    def do_DELETE(self):
        self.do_GET()

    def do_GET(self):
        url = urlparse(self.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        path = url.path
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""

        if path == "/v1/me":
            self.send_body(200, b'{"id": 5, "email": null}', "application/json")
        elif path == "/v1/changes":
            page = {"changes": [{"entity": "message", "id": "m1", "op": "upsert"}], "cursor": "c1", "hasMore": False}
            self.send_body(200, json.dumps(page).encode(), "application/json")
        elif path == "/v1/offers":
            self.send_body(200, b"not json at all", "application/json")
        elif path == "/v1/contacts":
            contacts = {"contacts": [{"id": "u", "email": "e", "name": "n", "role": "wizard", "online": True}]}
            self.send_body(200, json.dumps(contacts).encode(), "application/json")
        elif path == "/v1/sessions/upcoming":
            self.send_body(500, b"<html>oops</html>", "text/html")
        elif path == "/ok":
            self.send_body(200, b"hello")
        elif path == "/echo":
            echo = {"method": self.command, "path": self.path, "headers": dict(self.headers.items()),
                    "body": body.decode("utf-8", "replace")}
            self.send_body(200, json.dumps(echo).encode(), "application/json")
        elif path == "/gzip":
            data = gzip.compress(b"compressed " * 1000)
            self.send_body(200, data, extra=[("Content-Encoding", "gzip")])
        elif path == "/chunked":
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for part in [b"one ", b"two ", b"three"]:
                self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
                self.wfile.flush()
                time.sleep(0.01)
            self.wfile.write(b"0\r\n\r\n")
        elif path == "/close-delimited":
            self.send_response(200)
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(b"until the connection closes")
            self.close_connection = True
        elif path == "/truncated-length":
            self.send_response(200)
            self.send_header("Content-Length", "100")
            self.end_headers()
            self.wfile.write(b"x" * 50)
            self.wfile.flush()
            self.close_connection = True
        elif path == "/truncated-chunked":
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            self.wfile.write(b"a\r\n12345")
            self.wfile.flush()
            self.close_connection = True
        elif path == "/slow":
            time.sleep(float(query.get("seconds", "1")))
            self.send_body(200, b"slow")
        elif path == "/stall":
            self.send_response(200)
            self.send_header("Content-Length", "1000")
            self.end_headers()
            self.wfile.write(b"x" * 10)
            self.wfile.flush()
            time.sleep(float(query.get("seconds", "30")))
            self.close_connection = True
        elif path.startswith("/status/"):
            status = int(path.split("/")[2])
            problem = {"type": "about:blank", "title": "Refused", "status": status, "code": "client_offline"}
            self.send_body(status, json.dumps(problem).encode(), "application/problem+json")
        elif path == "/flaky":
            # Fails `fail` times per `id` with 503 and Retry-After, then succeeds.
            key = query.get("id", "")
            with attempts_lock:
                attempts[key] = attempts.get(key, 0) + 1
                count = attempts[key]
            if count <= int(query.get("fail", "1")):
                extra = [("Retry-After", query["after"])] if "after" in query else []
                self.send_body(int(query.get("status", "503")), b"busy", extra=extra)
            else:
                self.send_body(200, json.dumps({"attempts": count, "key": self.headers.get("Idempotency-Key")}).encode(),
                               "application/json")
        elif path == "/redirect":
            self.send_body(302, b"", extra=[("Location", query.get("to", "/ok"))])
        elif path == "/loop":
            self.send_body(302, b"", extra=[("Location", "/loop")])
        elif path == "/big":
            self.send_body(200, b"b" * int(query.get("bytes", "1000")))
        elif path == "/events":
            count = int(query.get("count", "5"))
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            payload = "".join(f"id: {i}\nevent: tick\ndata: {'x' * int(query.get('size', '10'))} {i}\n\n" for i in range(count))
            data = payload.encode()
            step = int(query.get("chunk", "7"))
            for start in range(0, len(data), step):
                part = data[start:start + step]
                self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
                self.wfile.flush()
            if query.get("hold"):
                time.sleep(float(query["hold"]))
            self.wfile.write(b"0\r\n\r\n")
        else:
            self.send_body(404, b"no such path")


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 512


def main():
    server = Server(("127.0.0.1", 0), Handler)
    if len(sys.argv) == 4 and sys.argv[1] == "--tls":
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(sys.argv[2], sys.argv[3])
        server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    print(f"port {server.server_address[1]}", flush=True)
    sys.stdin.read()


if __name__ == "__main__":
    main()
