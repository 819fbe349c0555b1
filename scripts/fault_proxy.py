"""A fault-injecting HTTP reverse proxy for the S3/SQS tests: it forwards every request to an
upstream server (moto) and, when told to, answers errors, stalls, resets or cuts responses
short. It listens on loopback only and prints its URL on the first line of stdout.

    python scripts/fault_proxy.py --upstream http://127.0.0.1:MOTOPORT [--port N]
                                  [--until-stdin-eof] [--verbose]

--port 0 (the default) takes a free port. With --until-stdin-eof the proxy stops when its
standard input closes, so a test harness that dies cannot leave it running; otherwise it
runs until SIGTERM/SIGINT. --verbose logs each request and injected fault to stderr.
Standard library only (Python 3.9+).

Forwarding: method, path and query, headers (Host included, so moto's queue URLs point at
the proxy) and the raw body bytes: a Content-Length body or a Transfer-Encoding: chunked
body, forwarded still chunked; an aws-chunked body is just bytes. Connection, Keep-Alive,
Proxy-Connection, TE, Upgrade and Expect are not forwarded (100-continue is answered by the
proxy). Each client connection gets its own persistent upstream connection. The whole
upstream response is read first and relayed with a Content-Length (its Transfer-Encoding
dropped). Client connections are HTTP/1.1 keep-alive.

Operation names, which the rules match on:
  SQS: the X-Amz-Target header AmazonSQS.<Op> (JSON protocol), or Action=<Op> in a form body
  or the query string (query protocol), gives <Op>.
  S3, path-style (/bucket, /bucket/key...):
    PUT   key with partNumber and uploadId -> UploadPart; with x-amz-copy-source header ->
          CopyObject; else PutObject.   bucket -> CreateBucket
    POST  ?uploads -> CreateMultipartUpload; ?uploadId -> CompleteMultipartUpload;
          ?delete -> DeleteObjects
    DELETE ?uploadId -> AbortMultipartUpload; key -> DeleteObject
    GET   bucket: ?list-type=2 -> ListObjectsV2; ?uploads -> ListMultipartUploads; else
          ListObjects.   key: ?uploadId -> ListParts; else GetObject
    HEAD  bucket -> HeadBucket; key -> HeadObject
  Requests on a sub-resource (?acl, ?tagging, ?versioning, ?location, ?policy, ...) and
  anything else (ListBuckets, DeleteBucket, ...) -> Other.

Control endpoint, served by the proxy itself (never forwarded):
  PUT    /__faults__  body {"rules": [RULE, ...], "seed": 0}: replaces all rules (and the
                      random generator, seeded with "seed"); counts are kept. Answers 400
                      with {"error": ...} for an invalid document.
  GET    /__faults__  {"rules": [...], "seed": n, "counts": {"<Op>": seen, ...},
                      "injected": {"<Op>": injected, ...},
                      "rule_stats": [{"matched": n, "applied": n}, ...]}
  DELETE /__faults__  clears rules and counts.

RULE, an object (unknown fields are rejected):
  "op"           operation name (above) or "*"                                   (required)
  "key_contains" substring the request path must contain (raw or percent-decoded; for SQS
                 also matched against the QueueUrl in the body)
  "action"       what to do with a matching request                              (required)
      "status"        answer "status" (default 500) with an error body, not forwarding:
                      S3 <Error><Code>InternalError</Code><Message>injected</Message></Error>,
                      SQS JSON {"__type":"InternalError","message":"injected"}
                      (application/x-amz-json-1.0), SQS query protocol its XML
                      <ErrorResponse>; "code" and "message" override the two strings
      "status_after"  forward (so it takes effect: the object IS stored), then answer as
                      "status" instead of relaying the upstream response
      "delay"         wait "seconds" (default 1), then forward normally
      "hang"          read the request, send nothing, hold the connection "seconds"
                      (default 60), then close it
      "hang_body"     forward, send the status line, headers (real Content-Length) and the
                      first "bytes" (default 1024) of the body, stall "seconds" (default
                      60), then close
      "reset"         read the request, then close with a TCP RST (SO_LINGER 0), no response
      "truncate"      forward, send status line, headers (real Content-Length) and the first
                      "bytes" of the body (default half of it), then close
  "times"        apply to at most this many requests (default unlimited)
  "skip"         let this many matching requests through first (default 0)
  "probability"  apply with this probability (default 1.0), drawn from random.Random(seed)
  "seconds" is at most 120; a stall ends early when the client closes or the proxy stops.
A request is matched against the rules in order; the first rule whose op and key_contains
match and whose skip, times and probability let it apply is applied. Every request counts
in "counts" under its operation name, every applied rule in "injected".

Example:
  curl -X PUT $PROXY/__faults__ -d '{"rules": [{"op": "PutObject", "action": "status",
      "status": 503, "times": 2}, {"op": "GetObject", "key_contains": "big",
      "action": "truncate", "bytes": 100}]}'
"""
import argparse
import http.client
import json
import random
import select
import signal
import socket
import struct
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from socketserver import TCPServer
from urllib.parse import parse_qs, unquote, urlsplit

MAX_SECONDS = 120.0
CONTROL_PATH = "/__faults__"
ACTIONS = ("status", "status_after", "delay", "hang", "hang_body", "reset", "truncate")
RULE_FIELDS = {"op", "key_contains", "action", "status", "seconds", "bytes", "times",
               "skip", "probability", "code", "message"}
# Not forwarded upstream (Expect: the proxy has already answered 100-continue and read the
# body). Transfer-Encoding is forwarded: a chunked body is forwarded still chunked.
REQUEST_DROP = {"connection", "keep-alive", "proxy-connection", "te", "upgrade", "expect"}
# Not relayed to the client; Content-Length is set by the proxy.
RESPONSE_DROP = {"connection", "keep-alive", "proxy-connection", "transfer-encoding",
                 "upgrade", "trailer"}
S3_SUBRESOURCES = {
    "accelerate", "acl", "analytics", "attributes", "cors", "encryption",
    "intelligent-tiering", "inventory", "legal-hold", "lifecycle", "location", "logging",
    "metrics", "notification", "object-lock", "ownershipControls", "policy", "policyStatus",
    "publicAccessBlock", "replication", "requestPayment", "restore", "retention", "select",
    "tagging", "torrent", "versioning", "versions", "website",
}


class BadRequest(Exception):
    pass


class UpstreamError(Exception):
    pass


def classify(method, path, query, headers, body):
    """Returns (operation name, protocol "s3"|"json"|"query", extra strings for key_contains)."""
    target = headers.get("X-Amz-Target")
    if target:
        op = target.split(".", 1)[1] if "." in target else target
        extra = []
        try:
            doc = json.loads(body.decode("utf-8")) if body else {}
            if isinstance(doc, dict) and isinstance(doc.get("QueueUrl"), str):
                extra.append(doc["QueueUrl"])
        except (ValueError, UnicodeDecodeError):
            pass
        return op or "Other", "json", extra
    q = parse_qs(query, keep_blank_values=True)
    ctype = (headers.get("Content-Type") or "").lower()
    if "Action" not in q and method == "POST" and "x-www-form-urlencoded" in ctype:
        try:
            form = parse_qs(body.decode("utf-8"), keep_blank_values=True)
        except UnicodeDecodeError:
            form = {}
        if "Action" in form:
            q = form
    if "Action" in q:
        return q["Action"][0] or "Other", "query", q.get("QueueUrl", [])[:1]
    parts = path.lstrip("/").split("/", 1)
    bucket = parts[0]
    key = parts[1] if len(parts) > 1 else ""
    if not bucket or any(name in q for name in S3_SUBRESOURCES):
        return "Other", "s3", []
    if method == "PUT":
        if key:
            if "partNumber" in q and "uploadId" in q:
                return "UploadPart", "s3", []
            if headers.get("x-amz-copy-source"):
                return "CopyObject", "s3", []
            return "PutObject", "s3", []
        return "CreateBucket", "s3", []
    if method == "POST":
        if "uploads" in q:
            return "CreateMultipartUpload", "s3", []
        if "uploadId" in q:
            return "CompleteMultipartUpload", "s3", []
        if "delete" in q:
            return "DeleteObjects", "s3", []
        return "Other", "s3", []
    if method == "DELETE":
        if "uploadId" in q:
            return "AbortMultipartUpload", "s3", []
        return ("DeleteObject" if key else "Other"), "s3", []
    if method == "GET":
        if key:
            return ("ListParts" if "uploadId" in q else "GetObject"), "s3", []
        if q.get("list-type") == ["2"]:
            return "ListObjectsV2", "s3", []
        if "uploads" in q:
            return "ListMultipartUploads", "s3", []
        return "ListObjects", "s3", []
    if method == "HEAD":
        return ("HeadObject" if key else "HeadBucket"), "s3", []
    return "Other", "s3", []


def _number(spec, name, default, kind, lo, hi=None):
    value = spec.get(name)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, (int, float)) or \
            (kind is int and not float(value).is_integer()):
        raise BadRequest(f"rule field {name!r} must be a{'n integer' if kind is int else ' number'}")
    value = kind(value)
    if value < lo or (hi is not None and value > hi):
        raise BadRequest(f"rule field {name!r} must be between {lo} and {hi}" if hi is not None
                         else f"rule field {name!r} must be at least {lo}")
    return value


class Rule:
    def __init__(self, spec):
        if not isinstance(spec, dict):
            raise BadRequest("each rule must be a JSON object")
        unknown = set(spec) - RULE_FIELDS
        if unknown:
            raise BadRequest(f"unknown rule field(s) {sorted(unknown)}; known: {sorted(RULE_FIELDS)}")
        self.op = spec.get("op")
        if not isinstance(self.op, str) or not self.op:
            raise BadRequest("rule field 'op' (an operation name or \"*\") is required")
        self.action = spec.get("action")
        if self.action not in ACTIONS:
            raise BadRequest(f"rule field 'action' must be one of {list(ACTIONS)}")
        self.key_contains = spec.get("key_contains")
        if self.key_contains is not None and not isinstance(self.key_contains, str):
            raise BadRequest("rule field 'key_contains' must be a string")
        for name in ("code", "message"):
            if spec.get(name) is not None and not isinstance(spec[name], str):
                raise BadRequest(f"rule field {name!r} must be a string")
        self.code = spec.get("code") or "InternalError"
        self.message = spec.get("message") or "injected"
        self.status = _number(spec, "status", 500, int, 100, 599)
        default_seconds = 1.0 if self.action == "delay" else 60.0
        self.seconds = _number(spec, "seconds", default_seconds, float, 0, MAX_SECONDS)
        self.bytes = _number(spec, "bytes", 1024 if self.action == "hang_body" else None, int, 0)
        self.times = _number(spec, "times", None, int, 0)
        self.skip = _number(spec, "skip", 0, int, 0)
        self.probability = _number(spec, "probability", 1.0, float, 0, 1)
        self.spec = spec
        self.matched = 0
        self.applied = 0

    def matches(self, op, targets):
        if self.op != "*" and self.op != op:
            return False
        return self.key_contains is None or any(self.key_contains in t for t in targets)


class Faults:
    """The rules and counters, shared by all connections."""

    def __init__(self):
        self.lock = threading.Lock()
        self.rules = []
        self.seed = 0
        self.rng = random.Random(0)
        self.counts = {}
        self.injected = {}

    def replace(self, doc):
        if not isinstance(doc, dict):
            raise BadRequest('the body must be a JSON object {"rules": [...], "seed": 0}')
        unknown = set(doc) - {"rules", "seed"}
        if unknown:
            raise BadRequest(f"unknown field(s) {sorted(unknown)}; known: ['rules', 'seed']")
        specs = doc.get("rules", [])
        if not isinstance(specs, list):
            raise BadRequest("'rules' must be a list")
        seed = doc.get("seed", 0)
        if seed is None:
            seed = 0
        if isinstance(seed, bool) or not isinstance(seed, (int, str)):
            raise BadRequest("'seed' must be an integer or a string")
        rules = [Rule(spec) for spec in specs]
        with self.lock:
            self.rules = rules
            self.seed = seed
            self.rng = random.Random(seed)

    def clear(self):
        with self.lock:
            self.rules = []
            self.seed = 0
            self.rng = random.Random(0)
            self.counts = {}
            self.injected = {}

    def snapshot(self):
        with self.lock:
            return {
                "rules": [r.spec for r in self.rules],
                "seed": self.seed,
                "counts": dict(self.counts),
                "injected": dict(self.injected),
                "rule_stats": [{"matched": r.matched, "applied": r.applied} for r in self.rules],
            }

    def pick(self, op, targets):
        """Counts the request and returns the rule to apply to it, if any."""
        with self.lock:
            self.counts[op] = self.counts.get(op, 0) + 1
            for rule in self.rules:
                if not rule.matches(op, targets):
                    continue
                rule.matched += 1
                if rule.matched <= rule.skip:
                    continue
                if rule.times is not None and rule.applied >= rule.times:
                    continue
                if rule.probability < 1.0 and self.rng.random() >= rule.probability:
                    continue
                rule.applied += 1
                self.injected[op] = self.injected.get(op, 0) + 1
                return rule
            return None


class ProxyServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128

    def __init__(self, port, upstream, verbose):
        self.upstream = upstream
        self.verbose = verbose
        self.faults = Faults()
        self.stopping = threading.Event()
        super().__init__(("127.0.0.1", port), Handler)

    def server_bind(self):
        # HTTPServer.server_bind looks the host name up (getfqdn), which can be slow.
        TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fault_proxy"
    timeout = MAX_SECONDS  # idle keep-alive connections and slow clients

    def setup(self):
        super().setup()
        self.upstream_conn = None

    def finish(self):
        self._close_upstream()
        try:
            super().finish()
        except OSError:
            pass

    def log_message(self, format, *args):
        if self.server.verbose:
            sys.stderr.write("fault_proxy: %s\n" % (format % args))

    def _dispatch(self):
        try:
            self._serve()
        except (OSError, http.client.HTTPException, ValueError) as e:
            # The client went away (or sent garbage): nothing more to say on this connection.
            self.log_message("connection dropped: %r", e)
            self.close_connection = True

    do_GET = do_HEAD = do_PUT = do_POST = do_DELETE = do_PATCH = do_OPTIONS = _dispatch

    # ---- request ----

    def _read_exact(self, n):
        data = self.rfile.read(n)
        if len(data) != n:
            raise ConnectionError("client closed the connection in the middle of the body")
        return data

    def _readline(self):
        line = self.rfile.readline(65537)
        if not line.endswith(b"\n"):
            raise ConnectionError("client closed the connection (or sent an overlong line)")
        return line

    def _read_body(self):
        """Returns (raw bytes as received, decoded body)."""
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            raw, data = bytearray(), bytearray()
            while True:
                line = self._readline()
                raw += line
                size = int(line.split(b";", 1)[0].strip(), 16)
                if size == 0:
                    break
                chunk = self._read_exact(size)
                raw += chunk
                data += chunk
                raw += self._readline()
            while True:  # trailers, then the empty line
                line = self._readline()
                raw += line
                if line in (b"\r\n", b"\n"):
                    break
            return bytes(raw), bytes(data)
        length = self.headers.get("Content-Length")
        if length is None:
            return b"", b""
        n = int(length)
        if n < 0:
            raise ValueError("negative Content-Length")
        data = self._read_exact(n)
        return data, data

    def _serve(self):
        try:
            raw, body = self._read_body()
        except ValueError:
            self.close_connection = True
            self.send_error(400, "bad request body framing")
            return
        target = self.path
        if target.startswith(("http://", "https://")):  # absolute-form request target
            u = urlsplit(target)
            target = (u.path or "/") + ("?" + u.query if u.query else "")
        path, _, query = target.partition("?")
        if path == CONTROL_PATH:
            self._control(body)
            return
        op, protocol, extra = classify(self.command, path, query, self.headers, body)
        rule = self.server.faults.pick(op, [path, unquote(path)] + extra)
        if rule is None:
            self.log_message("%s %s -> %s", self.command, self.path, op)
            self._proxy(target, raw)
            return
        self.log_message("%s %s -> %s: injecting %s", self.command, self.path, op, rule.action)
        action = rule.action
        if action == "status":
            self._send_fault(rule, protocol)
        elif action == "status_after":
            try:
                self._forward(target, raw)
            except UpstreamError as e:
                self.log_message("upstream failed (status_after): %s", e)
            self._send_fault(rule, protocol)
        elif action == "delay":
            if self.server.stopping.wait(rule.seconds):
                self.close_connection = True
                return
            self._proxy(target, raw)
        elif action == "hang":
            self.close_connection = True
            self._stall(rule.seconds)
        elif action == "reset":
            self._reset()
        elif action in ("hang_body", "truncate"):
            try:
                status, reason, headers, data = self._forward(target, raw)
            except UpstreamError as e:
                self._send_upstream_error(e, protocol)
                return
            self.close_connection = True
            limit = rule.bytes if rule.bytes is not None else len(data) // 2
            self._respond(status, reason, headers, data, limit=limit)
            if action == "hang_body":
                self._stall(rule.seconds)

    # ---- upstream ----

    def _close_upstream(self):
        if self.upstream_conn is not None:
            self.upstream_conn.close()
            self.upstream_conn = None

    def _forward(self, target, raw):
        """Sends the request upstream; returns (status, reason, headers, whole body)."""
        up = self.server.upstream
        headers = [(k, v) for k, v in self.headers.items() if k.lower() not in REQUEST_DROP]
        if not any(k.lower() == "host" for k, _ in headers):
            headers.insert(0, ("Host", up.netloc))
        url = up.path.rstrip("/") + target
        for attempt in (1, 2):
            reused = self.upstream_conn is not None
            if not reused:
                cls = http.client.HTTPSConnection if up.scheme == "https" else http.client.HTTPConnection
                self.upstream_conn = cls(up.hostname, up.port, timeout=MAX_SECONDS)
            conn = self.upstream_conn
            try:
                conn.putrequest(self.command, url, skip_host=True, skip_accept_encoding=True)
                for k, v in headers:
                    conn.putheader(k, v)
                conn.endheaders()
                if raw:
                    conn.send(raw)
                resp = conn.getresponse()
                data = resp.read()
            except (OSError, http.client.HTTPException) as e:
                self._close_upstream()
                stale = isinstance(e, (http.client.RemoteDisconnected, ConnectionResetError,
                                       BrokenPipeError, http.client.BadStatusLine))
                if attempt == 1 and reused and stale:
                    continue  # the kept-alive upstream connection had been closed: retry once
                raise UpstreamError(f"{type(e).__name__}: {e}") from e
            if resp.will_close:
                self._close_upstream()
            return resp.status, resp.reason, resp.getheaders(), data
        raise AssertionError("unreachable")

    def _proxy(self, target, raw):
        try:
            status, reason, headers, data = self._forward(target, raw)
        except UpstreamError as e:
            self._send_upstream_error(e, None)
            return
        self._respond(status, reason, headers, data)

    # ---- responses ----

    def _respond(self, status, reason, headers, data, limit=None):
        """Sends a response with a Content-Length; with limit, only that much of the body."""
        no_body = self.command == "HEAD" or status in (204, 304) or 100 <= status < 200
        self.send_response_only(status, reason or None)
        for k, v in headers:
            lk = k.lower()
            if lk in RESPONSE_DROP or (lk == "content-length" and not no_body):
                continue
            self.send_header(k, v)
        if not no_body:
            self.send_header("Content-Length", str(len(data)))
        if self.close_connection and limit is None:
            self.send_header("Connection", "close")
        self.end_headers()
        if not no_body and data:
            self.wfile.write(data if limit is None else data[:limit])

    def _send_fault(self, rule, protocol):
        self._send_error_body(rule.status, rule.code, rule.message, protocol)

    def _send_upstream_error(self, e, protocol):
        self.log_message("upstream failed: %s", e)
        self._send_error_body(502, "BadGateway", f"fault_proxy: upstream failed: {e}", protocol)

    def _send_error_body(self, status, code, message, protocol):
        esc = lambda s: s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        if protocol == "json":
            body = json.dumps({"__type": code, "message": message}).encode()
            ctype = "application/x-amz-json-1.0"
        elif protocol == "query":
            body = ('<?xml version="1.0"?><ErrorResponse><Error><Type>Receiver</Type>'
                    f"<Code>{esc(code)}</Code><Message>{esc(message)}</Message></Error>"
                    "<RequestId>fault-proxy</RequestId></ErrorResponse>").encode()
            ctype = "text/xml"
        else:
            body = ('<?xml version="1.0" encoding="UTF-8"?>\n'
                    f"<Error><Code>{esc(code)}</Code><Message>{esc(message)}</Message>"
                    "<RequestId>fault-proxy</RequestId></Error>").encode()
            ctype = "application/xml"
        headers = [("Content-Type", ctype), ("x-amz-request-id", "fault-proxy"),
                   ("x-amzn-RequestId", "fault-proxy")]
        self._respond(status, None, headers, body)

    def _stall(self, seconds):
        """Holds the connection, sending nothing, for seconds (or until the client closes it
        or the proxy stops)."""
        deadline = time.monotonic() + min(seconds, MAX_SECONDS)
        sock = self.connection
        while not self.server.stopping.is_set():
            left = deadline - time.monotonic()
            if left <= 0:
                return
            try:
                readable, _, _ = select.select([sock], [], [], min(left, 0.25))
                if readable and not sock.recv(1, socket.MSG_PEEK):
                    return  # the client closed the connection
            except OSError:
                return
            if readable:  # the client sent more: don't read it, just keep waiting
                self.server.stopping.wait(min(left, 0.25))

    def _reset(self):
        """Closes the connection with a TCP RST instead of a response."""
        self.close_connection = True
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
        # The socket closes for real only once rfile (a makefile() of it) is closed too.
        try:
            self.rfile.close()
        except OSError:
            pass
        self.connection.close()

    # ---- control endpoint ----

    def _control(self, body):
        faults = self.server.faults
        if self.command == "GET":
            self._send_json(200, faults.snapshot())
        elif self.command == "PUT":
            try:
                faults.replace(json.loads(body.decode("utf-8") or "{}"))
            except (ValueError, UnicodeDecodeError) as e:
                self._send_json(400, {"error": f"invalid JSON: {e}"})
                return
            except BadRequest as e:
                self._send_json(400, {"error": str(e)})
                return
            self._send_json(200, faults.snapshot())
        elif self.command == "DELETE":
            faults.clear()
            self._send_json(200, faults.snapshot())
        else:
            self._send_json(405, {"error": f"{CONTROL_PATH} takes GET, PUT or DELETE"})

    def _send_json(self, status, doc):
        self._respond(status, None, [("Content-Type", "application/json")],
                      json.dumps(doc).encode())


def main() -> None:
    ap = argparse.ArgumentParser(description="Fault-injecting reverse proxy for the S3/SQS tests.")
    ap.add_argument("--upstream", required=True, help="e.g. http://127.0.0.1:5000")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--until-stdin-eof", action="store_true")
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args()
    upstream = urlsplit(args.upstream)
    if upstream.scheme not in ("http", "https") or not upstream.hostname:
        ap.error(f"--upstream must be an http:// URL, not {args.upstream!r}")
    server = ProxyServer(args.port, upstream, args.verbose)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2},
                              daemon=True)
    thread.start()
    print(f"http://127.0.0.1:{server.server_address[1]}", flush=True)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())
    if args.until_stdin_eof:
        threading.Thread(target=lambda: (sys.stdin.read(), done.set()), daemon=True).start()
    done.wait()
    server.stopping.set()  # wakes stalled connections
    server.shutdown()
    server.server_close()


if __name__ == "__main__":
    main()
