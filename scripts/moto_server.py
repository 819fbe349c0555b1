"""Runs moto's S3/SQS server on loopback and prints its URL on the first line of stdout.

    python scripts/moto_server.py [--port N] [--until-stdin-eof]

--port 0 (the default) takes a free port. With --until-stdin-eof the server stops when its
standard input closes, so a test harness that dies cannot leave it running; otherwise it
runs until interrupted. Run through scripts/moto.sh, which creates the venv first.
"""
import argparse
import signal
import sys
import threading

from moto.server import ThreadedMotoServer


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--until-stdin-eof", action="store_true")
    args = ap.parse_args()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=args.port, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    print(f"http://{host}:{port}", flush=True)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())
    if args.until_stdin_eof:
        threading.Thread(target=lambda: (sys.stdin.read(), done.set()), daemon=True).start()
    done.wait()
    server.stop()


if __name__ == "__main__":
    main()
