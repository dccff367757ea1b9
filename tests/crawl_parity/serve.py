"""A static file server for the crawl parity corpus, on loopback.

    python serve.py ROOT [--port 0] [--port-file FILE]

Threaded http.server that serves files only (no directory listings: a directory is
redirected to its trailing-slash form and served as its index.html, else 404), with
Content-Type `text/html` for .html/.htm and the usual types for other files, never with
a charset parameter, so both crawlers have to detect the encoding from the body the same
way. Binds 127.0.0.1 on PORT (0 = a free port) and writes the port to --port-file once
it listens.
"""

from __future__ import annotations

import argparse
import http.server
import mimetypes
import os
import posixpath
import sys
import urllib.parse

TYPES = {
    ".html": "text/html",
    ".htm": "text/html",
    ".txt": "text/plain",
    ".css": "text/css",
    ".js": "text/javascript",
    ".json": "application/json",
    ".xml": "application/xml",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".gz": "application/gzip",
    ".inv": "application/octet-stream",
}


def content_type(path: str) -> str:
    ext = os.path.splitext(path)[1].lower()
    if ext in TYPES:
        return TYPES[ext]
    guessed, _ = mimetypes.guess_type(path, strict=False)
    return (guessed or "application/octet-stream").split(";")[0]


class Handler(http.server.BaseHTTPRequestHandler):
    server_version = "crawl-parity/1"
    protocol_version = "HTTP/1.1"
    root = "."

    def log_message(self, fmt, *args):  # quiet: thousands of requests
        pass

    def resolve(self) -> str | None:
        path = urllib.parse.urlsplit(self.path).path
        path = urllib.parse.unquote(path, errors="surrogatepass")
        parts = [p for p in posixpath.normpath(path).split("/") if p not in ("", ".", "..")]
        return os.path.join(self.root, *parts)

    def send_plain(self, code: int, body: bytes, headers: dict[str, str] | None = None, head=False):
        self.send_response(code)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if not head:
            self.wfile.write(body)

    def serve(self, head: bool):
        fs = self.resolve()
        if fs is None:
            return self.send_plain(404, b"not found\n", head=head)
        if os.path.isdir(fs):
            split = urllib.parse.urlsplit(self.path)
            if not split.path.endswith("/"):
                loc = urllib.parse.urlunsplit(("", "", split.path + "/", split.query, ""))
                return self.send_plain(301, b"moved\n", {"Location": loc}, head=head)
            fs = os.path.join(fs, "index.html")
        if not os.path.isfile(fs):
            return self.send_plain(404, b"not found\n", head=head)
        with open(fs, "rb") as f:
            body = f.read()
        self.send_response(200)
        self.send_header("Content-Type", content_type(fs))
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if not head:
            self.wfile.write(body)

    def do_GET(self):
        self.serve(head=False)

    def do_HEAD(self):
        self.serve(head=True)


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # the listen() backlog: 16+ concurrent connections


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("root")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file")
    args = ap.parse_args()
    Handler.root = os.path.realpath(args.root)
    httpd = Server(("127.0.0.1", args.port), Handler)
    port = httpd.server_address[1]
    if args.port_file:
        tmp = args.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write(f"{port}\n")
        os.replace(tmp, args.port_file)
    print(f"serving {Handler.root} on http://127.0.0.1:{port}/", file=sys.stderr, flush=True)
    try:
        httpd.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
