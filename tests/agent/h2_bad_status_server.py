"""A hostile HTTP/2 (h2c, prior knowledge) server for the agent's tests.

Answers every request with a status outside 100..599 (`:status: 099` by
default, or the code given as the second argument), which passes nghttp2's
three-digit check. Prints the port it listens on, then serves until killed.
Usage: h2_bad_status_server.py PORT [STATUS]
"""
import socket
import sys
import threading

import h2.config
import h2.connection
import h2.events


def serve(sock, status):
    config = h2.config.H2Configuration(client_side=False, validate_outbound_headers=False,
                                       normalize_outbound_headers=False)
    conn = h2.connection.H2Connection(config=config)
    conn.initiate_connection()
    sock.sendall(conn.data_to_send())
    try:
        while True:
            data = sock.recv(65536)
            if not data:
                return
            for event in conn.receive_data(data):
                if isinstance(event, h2.events.RequestReceived):
                    conn.send_headers(event.stream_id, [(':status', status),
                                                        ('content-length', '2')])
                    conn.send_data(event.stream_id, b'no', end_stream=True)
            out = conn.data_to_send()
            if out:
                sock.sendall(out)
    except Exception:  # the client hung up or sent garbage: this connection ends
        return
    finally:
        sock.close()


def main():
    port = int(sys.argv[1])
    status = sys.argv[2] if len(sys.argv) > 2 else '099'
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(('127.0.0.1', port))
    listener.listen(64)
    print(listener.getsockname()[1], flush=True)
    while True:
        sock, _ = listener.accept()
        threading.Thread(target=serve, args=(sock, status), daemon=True).start()


if __name__ == '__main__':
    main()
