#!/usr/bin/python3
"""Apache Avro's own container files (Debian's python3-avro DataFileWriter / DataFileReader) for the tests of
spooldir's AVRO deserializer and file_roll's avro_event serializer.

  avro_files.py write FILE --codec null|deflate --count N [--sync-every N]
      writes N records of the LogRecord schema below; prints the schema's canonical form and CRC-64-AVRO hash
  avro_files.py decode          reads JSON lines {"body": hex} on stdin, prints each body decoded with LogRecord
  avro_files.py read FILE       prints the writer schema, the codec, then every record of the container as JSON
"""

import argparse
import io
import json
import sys

import avro.datafile
import avro.io
import avro.schema

SCHEMA = {
    "type": "record", "name": "LogRecord", "namespace": "test.sluice", "doc": "a log line",
    "fields": [
        {"name": "seq", "type": "long"},
        {"name": "msg", "type": "string"},
        {"name": "level", "type": {"type": "enum", "name": "Level", "symbols": ["DEBUG", "INFO", "WARN"]}},
        {"name": "tags", "type": {"type": "array", "items": "string"}},
        {"name": "attrs", "type": {"type": "map", "values": ["null", "double"]}},
        {"name": "raw", "type": ["null", "bytes"], "default": None},
    ],
}


def rabin64(data):
    """CRC-64-AVRO, written from the Avro specification's reference code (independent of sluice's)."""
    empty = 0xC15D213AA4D7A795
    table = []
    for i in range(256):
        fp = i
        for _ in range(8):
            fp = (fp >> 1) ^ (empty & -(fp & 1))
        table.append(fp & 0xFFFFFFFFFFFFFFFF)
    fp = empty
    for b in data:
        fp = (fp >> 8) ^ table[(fp ^ b) & 0xFF]
    return fp


def schema_hash_hex(schema):
    fp = rabin64(schema.canonical_form.encode())
    return fp.to_bytes(8, "little").hex()


def record(i):
    return {
        "seq": i, "msg": "line %d \u00e9" % i, "level": ["DEBUG", "INFO", "WARN"][i % 3],
        "tags": ["t%d" % j for j in range(i % 4)],
        "attrs": {"x": i / 2.0, "none": None} if i % 2 else {},
        "raw": bytes([i % 256]) * (i % 5) if i % 3 else None,
    }


def write(args):
    schema = avro.schema.parse(json.dumps(SCHEMA))
    with open(args.file, "wb") as f:
        w = avro.datafile.DataFileWriter(f, avro.io.DatumWriter(), schema, codec=args.codec)
        for i in range(args.count):
            w.append(record(i))
            if args.sync_every and (i + 1) % args.sync_every == 0:
                w.sync()
        w.close()
    print(json.dumps({"canonical": schema.canonical_form, "hash": schema_hash_hex(schema)}))


def decode(_args):
    schema = avro.schema.parse(json.dumps(SCHEMA))
    reader = avro.io.DatumReader(schema)
    for line in sys.stdin:
        body = bytes.fromhex(json.loads(line)["body"])
        dec = avro.io.BinaryDecoder(io.BytesIO(body))
        rec = reader.read(dec)
        if rec.get("raw") is not None:
            rec["raw"] = rec["raw"].hex()
        print(json.dumps(rec), flush=True)


def read(args):
    with open(args.file, "rb") as f:
        r = avro.datafile.DataFileReader(f, avro.io.DatumReader())
        print(json.dumps({"schema": json.loads(r.get_meta("avro.schema").decode()), "codec": r.get_meta("avro.codec").decode()}))
        for rec in r:
            rec["body"] = rec["body"].decode("latin-1")
            print(json.dumps(rec))
        r.close()


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="mode", required=True)
    w = sub.add_parser("write")
    w.add_argument("file")
    w.add_argument("--codec", default="null")
    w.add_argument("--count", type=int, default=10)
    w.add_argument("--sync-every", type=int, default=0)
    sub.add_parser("decode")
    r = sub.add_parser("read")
    r.add_argument("file")
    args = p.parse_args()
    {"write": write, "decode": decode, "read": read}[args.mode](args)


if __name__ == "__main__":
    sys.exit(main())
