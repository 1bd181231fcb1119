"""A small HTTP/1.1 keep-alive server that names itself in every response
(X-Served-By: NAME) and counts what it served: the truth per backend for
tests/integration/spread_test.cc. GET /__count answers the count (not counted);
the first line on stdout is "listening PORT". Each response waits DELAY_MS
first, so a connection's rate does not depend on how busy the process is (a
balancer's connection split then shows in the request shares).

    /usr/bin/python3 named_server.py NAME PORT [DELAY_MS [SLOW_PREFIX SLOW_MS]]

A path that starts with SLOW_PREFIX waits SLOW_MS instead (one slow endpoint
beside fast ones: tests/integration/names_test.cc).
"""
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

NAME = sys.argv[1]
PORT = int(sys.argv[2])
DELAY = (int(sys.argv[3]) if len(sys.argv) > 3 else 0) / 1000.0
SLOW_PREFIX = sys.argv[4] if len(sys.argv) > 5 else None
SLOW = (int(sys.argv[5]) if len(sys.argv) > 5 else 0) / 1000.0
lock = threading.Lock()
served = 0


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body are two writes

    def do_GET(self):
        global served
        if self.path == "/__count":
            with lock:
                body = f"{served}\n".encode()
        else:
            if SLOW_PREFIX is not None and self.path.startswith(SLOW_PREFIX):
                time.sleep(SLOW)
            elif DELAY > 0:
                time.sleep(DELAY)
            body = b"ok\n"
            with lock:
                served += 1
        self.send_response(200)
        self.send_header("X-Served-By", NAME)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256


server = Server(("127.0.0.1", PORT), Handler)
print(f"listening {server.server_address[1]}", flush=True)
server.serve_forever()
