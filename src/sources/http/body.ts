// Reads a request body under three bounds: at most `maxBytes` on the wire (checked against Content-Length first,
// then while reading, so an unbounded body is never buffered), at most `maxBytes` after gzip inflation (zip bombs),
// and a deadline for the whole body (a client that dribbles a byte a second gives its slot back). Inflation runs
// asynchronously, never on the event loop.

import { gunzip } from "node:zlib";
import { promisify } from "node:util";

/** Off the event loop (the zlib thread pool): a 16 MiB body inflated synchronously held every other request. */
const gunzipAsync = promisify(gunzip);

export type BodyResult =
  | { ok: true; bytes: Uint8Array }
  | { ok: false; status: 400 | 408 | 413 | 415; message: string };

export async function readBody(req: Request, maxBytes: number, deadlineMs: number): Promise<BodyResult> {
  const declared = req.headers.get("content-length");
  if (declared !== null && Number(declared) > maxBytes) {
    return { ok: false, status: 413, message: `body of ${declared} bytes exceeds maxBodyBytes (${maxBytes})` };
  }
  const raw = await readLimited(req, maxBytes, deadlineMs);
  if (!raw.ok) return raw;
  const encoding = (req.headers.get("content-encoding") ?? "identity").trim().toLowerCase();
  if (encoding === "identity" || encoding === "") return raw;
  if (encoding !== "gzip" && encoding !== "x-gzip") return { ok: false, status: 415, message: `unsupported Content-Encoding "${encoding}" (gzip or none)` };
  try {
    return { ok: true, bytes: await gunzipAsync(raw.bytes, { maxOutputLength: maxBytes }) };
  } catch (err) {
    if (err instanceof RangeError) return { ok: false, status: 413, message: `gzip body inflates past maxBodyBytes (${maxBytes})` };
    return { ok: false, status: 400, message: `body is not valid gzip: ${(err as Error).message}` };
  }
}

async function readLimited(req: Request, maxBytes: number, deadlineMs: number): Promise<BodyResult> {
  if (!req.body) return { ok: true, bytes: new Uint8Array(0) };
  // A declared length within the limit (checked above; the server enforces the declaration) is read in one call,
  // which is much faster than pulling chunks; only the deadline needs watching.
  if (req.headers.get("content-length") !== null) return readDeclared(req, deadlineMs);
  const reader = req.body.getReader();
  const parts: Uint8Array[] = [];
  let total = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<"timeout">((r) => (timer = setTimeout(() => r("timeout"), deadlineMs)));
  try {
    for (;;) {
      const next = await Promise.race([reader.read(), expired]);
      if (next === "timeout") {
        return { ok: false, status: 408, message: `body not received within ${deadlineMs} ms (${total} bytes so far)` };
      }
      if (next.done) break;
      total += next.value.byteLength;
      if (total > maxBytes) return { ok: false, status: 413, message: `body exceeds maxBodyBytes (${maxBytes})` };
      parts.push(next.value);
    }
  } catch (err) {
    return { ok: false, status: 400, message: `body could not be read: ${(err as Error).message}` };
  } finally {
    clearTimeout(timer);
    reader.cancel().catch(() => {});
  }
  if (parts.length === 1) return { ok: true, bytes: parts[0]! };
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return { ok: true, bytes: out };
}

async function readDeclared(req: Request, deadlineMs: number): Promise<BodyResult> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<"timeout">((r) => (timer = setTimeout(() => r("timeout"), deadlineMs)));
  const read = req.arrayBuffer();
  try {
    const got = await Promise.race([read, expired]);
    if (got === "timeout") {
      read.catch(() => {});
      return { ok: false, status: 408, message: `body not received within ${deadlineMs} ms` };
    }
    return { ok: true, bytes: new Uint8Array(got) };
  } catch (err) {
    return { ok: false, status: 400, message: `body could not be read: ${(err as Error).message}` };
  } finally {
    clearTimeout(timer);
  }
}
