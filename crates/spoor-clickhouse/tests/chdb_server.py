#!/usr/bin/env python3
"""Test-only: ClickHouse's HTTP interface in front of one chdb session (the real engine, in
process). spoor's tests start it as a subprocess, read the port from its first output line and
kill it when done. It binds 127.0.0.1 only and is not a server for anything but tests.

What it speaks (the part of ClickHouse's HTTP interface that spoor uses):
- GET or POST /?query=SQL, or the SQL in a POST body; with both, the body follows the query
  (an INSERT's data), as ClickHouse does;
- `database` and `default_format` parameters (default TabSeparated); any other parameter is a
  setting of that one query (`max_query_size=...`);
- credentials as X-ClickHouse-User/X-ClickHouse-Key headers, HTTP basic auth or the
  user/password parameters, checked against --user/--password when given;
- GET /ping answers "Ok.";
- errors: status 500 (401 for a refused login) with ClickHouse's own error text.

Usage: chdb_server.py --data DIR [--user U --password P]
"""

import argparse
import base64
import http.server
import re
import sys
import threading
import urllib.parse

import chdb.session

LOCK = threading.Lock()
SESSION = None
ARGS = None
IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):  # keep test output quiet
        pass

    def reply(self, status, body, ctype="text/plain; charset=UTF-8", extra=None):
        if isinstance(body, str):
            body = body.encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-ClickHouse-Server-Display-Name", "chdb-test-front")
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def credentials(self, params):
        user = self.headers.get("X-ClickHouse-User")
        key = self.headers.get("X-ClickHouse-Key")
        auth = self.headers.get("Authorization", "")
        if auth.startswith("Basic "):
            try:
                u, _, p = base64.b64decode(auth[6:]).decode("utf-8").partition(":")
                user, key = u, p
            except Exception:
                pass
        user = user or params.get("user", ["default"])[0]
        key = key if key is not None else params.get("password", [""])[0]
        return user, key

    def handle_any(self, body):
        url = urllib.parse.urlsplit(self.path)
        params = urllib.parse.parse_qs(url.query, keep_blank_values=True)
        if url.path == "/ping":
            self.reply(200, "Ok.\n")
            return
        if ARGS.user is not None:
            user, key = self.credentials(params)
            if user != ARGS.user or key != ARGS.password:
                self.reply(
                    401,
                    f"Code: 516. DB::Exception: {user}: Authentication failed: password is "
                    "incorrect, or there is no user with such name. (AUTHENTICATION_FAILED)\n",
                )
                return
        query = params.get("query", [""])[0]
        text = body.decode("utf-8", errors="replace")
        if query and text:
            sql = query + "\n" + text
        else:
            sql = query or text
        if not sql.strip():
            self.reply(400, "Code: 62. DB::Exception: Empty query. (SYNTAX_ERROR)\n")
            return
        database = params.get("database", ["default"])[0]
        fmt = params.get("default_format", ["TabSeparated"])[0]
        if not IDENT.match(database) or not IDENT.match(fmt):
            self.reply(400, "Code: 36. DB::Exception: Bad database or format name. (BAD_ARGUMENTS)\n")
            return
        # Other parameters are settings of this query, as ClickHouse takes them.
        settings = {
            k: v[0]
            for k, v in params.items()
            if k not in ("query", "database", "default_format", "user", "password")
        }
        for k, v in settings.items():
            if not IDENT.match(k) or not re.match(r"^[A-Za-z0-9_.]*$", v):
                self.reply(400, f"Code: 115. DB::Exception: Unknown setting {k}. (UNKNOWN_SETTING)\n")
                return
        try:
            with LOCK:
                SESSION.query(f"USE {database}", "TabSeparated")
                for k, v in settings.items():
                    SESSION.query(f"SET {k} = '{v}'", "TabSeparated")
                try:
                    result = SESSION.query(sql, fmt)
                finally:
                    for k in settings:
                        SESSION.query(f"SET {k} = DEFAULT", "TabSeparated")
                data = result.bytes() if result is not None else b""
        except Exception as e:  # chdb raises with ClickHouse's own message
            msg = str(e).strip()
            if not msg.startswith("Code:"):
                msg = "Code: 1000. DB::Exception: " + msg
            self.reply(500, msg + "\n", extra={"X-ClickHouse-Exception-Code": code_of(msg)})
            return
        self.reply(200, data)

    def do_GET(self):
        self.handle_any(b"")

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            body = read_chunked(self.rfile)
        else:
            body = self.rfile.read(n) if n else b""
        self.handle_any(body)


def code_of(msg):
    m = re.match(r"Code: (\d+)", msg)
    return m.group(1) if m else "1000"


def read_chunked(f):
    out = bytearray()
    while True:
        line = f.readline().strip()
        size = int(line.split(b";")[0], 16)
        if size == 0:
            while f.readline().strip():
                pass
            return bytes(out)
        out += f.read(size)
        f.readline()


def main():
    global SESSION, ARGS
    p = argparse.ArgumentParser()
    p.add_argument("--data", required=True)
    p.add_argument("--user")
    p.add_argument("--password", default="")
    ARGS = p.parse_args()
    SESSION = chdb.session.Session(ARGS.data)
    SESSION.query("CREATE DATABASE IF NOT EXISTS default", "TabSeparated")
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    print(f"LISTENING {server.server_address[1]}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    sys.exit(main())
