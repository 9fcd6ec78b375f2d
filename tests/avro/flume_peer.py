#!/usr/bin/python3
"""A real Apache Avro peer (Debian's python3-avro: avro.ipc Requestor / Responder) speaking Flume's
AvroSourceProtocol over Avro's Netty framing, which python3-avro lacks and this helper adds:

  pack = int32 serial, int32 count, count x (int32 length, bytes)   -- big-endian
  deflate: one zlib stream per direction, Z_SYNC_FLUSH after every pack
  --ssl with --deflate: --layer inside-tls is Flume 1.9's stack (TLS outside, the zlib stream inside it);
                        --layer outside-tls is Flume 1.10+'s (the zlib stream outside, carrying the TLS records,
                        each flushed as Netty's JZlibEncoder does)

Netty connections are stateful: the handshake is sent only until one matched, so both classes below skip it
afterwards (python3-avro's own classes handshake on every call, as over HTTP).

  flume_peer.py client PORT [--deflate] [--ssl CA.pem] [--layer L] [--batches N] [--size N]
      prints one JSON line per call's Status
  flume_peer.py server [--deflate] [--ssl CERT.pem,KEY.pem] [--layer L] [--fail N]
      prints "PORT n", then one JSON line per event
"""

import argparse
import json
import socket
import socketserver
import ssl
import struct
import sys
import threading
import zlib

import avro.ipc as ipc
import avro.protocol

PROTOCOL_FILE = __file__.rsplit("/", 1)[0] + "/protocol.avpr"


def load_protocol():
    with open(PROTOCOL_FILE) as f:
        return avro.protocol.parse(f.read())


class ZlibChannel:
    """Flume 1.10+'s outer layer: the raw socket is one zlib stream per direction; every write is sync-flushed."""

    def __init__(self, sock):
        self.sock = sock
        self.comp = zlib.compressobj(6)
        self.decomp = zlib.decompressobj()

    def recv(self, n):
        while True:
            chunk = self.sock.recv(65536)
            if not chunk:
                return b""
            out = self.decomp.decompress(chunk)
            if out:
                return out

    def sendall(self, data):
        self.sock.sendall(self.comp.compress(data) + self.comp.flush(zlib.Z_SYNC_FLUSH))


class TlsChannel:
    """TLS over any channel with recv/sendall (here: the zlib stream), through memory BIOs."""

    def __init__(self, ctx, inner, server_side):
        self.inner = inner
        self.inc = ssl.MemoryBIO()
        self.out = ssl.MemoryBIO()
        self.obj = ctx.wrap_bio(self.inc, self.out, server_side=server_side,
                                server_hostname=None if server_side else "127.0.0.1")
        self._io(self.obj.do_handshake)

    def _flush(self):
        data = self.out.read()
        if data:
            self.inner.sendall(data)

    def _io(self, fn, *args):
        while True:
            try:
                r = fn(*args)
                self._flush()
                return r
            except ssl.SSLWantReadError:
                self._flush()
                chunk = self.inner.recv(65536)
                if not chunk:
                    raise EOFError("connection closed")
                self.inc.write(chunk)

    def recv(self, n):
        try:
            return self._io(self.obj.read, n)
        except (EOFError, ssl.SSLZeroReturnError):
            return b""

    def sendall(self, data):
        view = memoryview(data)
        while len(view) > 0:
            view = view[self._io(self.obj.write, view):]


def layered(sock, args, ctx, server_side):
    """The channel packs travel on, and whether PackIO itself must (de)compress."""
    if ctx is None:
        return sock, args.deflate
    if args.deflate and args.layer == "outside-tls":
        return TlsChannel(ctx, ZlibChannel(sock), server_side), False
    if server_side:
        return ctx.wrap_socket(sock, server_side=True), args.deflate
    return ctx.wrap_socket(sock, server_hostname="127.0.0.1"), args.deflate


class PackIO:
    """Netty framing (and Flume's deflate stream) over a blocking socket or channel."""

    def __init__(self, sock, deflate):
        self.sock = sock
        self.buf = b""
        self.comp = zlib.compressobj(6) if deflate else None
        self.decomp = zlib.decompressobj() if deflate else None

    def _fill(self, n):
        while len(self.buf) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("connection closed")
            self.buf += self.decomp.decompress(chunk) if self.decomp else chunk

    def _take(self, n):
        self._fill(n)
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def read_pack(self):
        serial, count = struct.unpack(">ii", self._take(8))
        parts = []
        for _ in range(count):
            (length,) = struct.unpack(">i", self._take(4))
            parts.append(self._take(length))
        return serial, b"".join(parts)

    def write_pack(self, serial, payload, split=ipc.BUFFER_SIZE):
        pieces = [payload[i:i + split] for i in range(0, len(payload), split)] or [b""]
        data = struct.pack(">ii", serial, len(pieces)) + b"".join(struct.pack(">i", len(p)) + p for p in pieces)
        if self.comp:
            data = self.comp.compress(data) + self.comp.flush(zlib.Z_SYNC_FLUSH)
        self.sock.sendall(data)


class NettyTransceiver:
    def __init__(self, host, port, args, ctx):
        self.sock = socket.create_connection((host, port), timeout=20)
        self.io = PackIO(*layered(self.sock, args, ctx, False))
        self.remote_name = "%s:%d" % (host, port)
        self.serial = 0

    def transceive(self, request):
        self.serial += 1
        self.io.write_pack(self.serial, request)
        serial, payload = self.io.read_pack()
        if serial != self.serial:
            raise RuntimeError("reply serial %d, expected %d" % (serial, self.serial))
        return payload


class StatefulRequestor(ipc.Requestor):
    connected = False

    def write_handshake_request(self, encoder):
        if not self.connected:
            super().write_handshake_request(encoder)

    def read_handshake_response(self, decoder):
        if self.connected:
            return True
        ok = super().read_handshake_response(decoder)
        self.connected = ok
        return ok


def run_client(args):
    proto = load_protocol()
    ctx = None
    if args.ssl:
        ctx = ssl.create_default_context(cafile=args.ssl)
    req = StatefulRequestor(proto, NettyTransceiver("127.0.0.1", args.port, args, ctx))
    n = 0
    for b in range(args.batches):
        events = []
        for i in range(args.size):
            events.append({"headers": {"py": "yes", "n": str(n)}, "body": ("py-%d" % n).encode()})
            n += 1
        status = req.request("appendBatch", {"events": events})
        print(json.dumps({"batch": b, "status": status}), flush=True)
    status = req.request("append", {"event": {"headers": {}, "body": ("py-%d" % n).encode()}})
    print(json.dumps({"append": True, "status": status}), flush=True)


def run_server(args):
    proto = load_protocol()
    lock = threading.Lock()
    state = {"fail": args.fail, "connections": 0}
    ctx = None
    if args.ssl:
        cert, key = args.ssl.split(",")
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, key)

    class Handler(socketserver.BaseRequestHandler):
        def handle(self):
            with lock:
                state["connections"] += 1
                print(json.dumps({"connection": state["connections"]}), flush=True)
            responder = StatefulResponder(proto)
            try:
                io = PackIO(*layered(self.request, args, ctx, True))
                while True:
                    serial, payload = io.read_pack()
                    io.write_pack(serial, responder.respond(payload), split=1 << 30)
            except (EOFError, ConnectionError, ssl.SSLError, zlib.error) as e:
                print(json.dumps({"closed": str(e)}), flush=True)

    class StatefulResponder(ipc.Responder):
        remote = None

        def process_handshake(self, decoder, encoder):
            if self.remote is not None:
                return self.remote
            self.remote = super().process_handshake(decoder, encoder)
            return self.remote

        def invoke(self, message, request):
            events = request["events"] if message.name == "appendBatch" else [request["event"]]
            with lock:
                if state["fail"] > 0:
                    state["fail"] -= 1
                    return "FAILED"
                for e in events:
                    print(json.dumps({"headers": e["headers"], "body": e["body"].decode("latin-1")}), flush=True)
            return "OK"

    class Server(socketserver.ThreadingTCPServer):
        daemon_threads = True
        allow_reuse_address = True

    srv = Server(("127.0.0.1", 0), Handler)
    print("PORT %d" % srv.server_address[1], flush=True)
    srv.serve_forever()


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="mode", required=True)
    c = sub.add_parser("client")
    c.add_argument("port", type=int)
    c.add_argument("--deflate", action="store_true")
    c.add_argument("--ssl", help="CA file to trust")
    c.add_argument("--layer", choices=["outside-tls", "inside-tls"], default="outside-tls")
    c.add_argument("--batches", type=int, default=3)
    c.add_argument("--size", type=int, default=5)
    s = sub.add_parser("server")
    s.add_argument("--deflate", action="store_true")
    s.add_argument("--ssl", help="CERT,KEY files")
    s.add_argument("--layer", choices=["outside-tls", "inside-tls"], default="outside-tls")
    s.add_argument("--fail", type=int, default=0)
    args = p.parse_args()
    run_client(args) if args.mode == "client" else run_server(args)


if __name__ == "__main__":
    sys.exit(main())
