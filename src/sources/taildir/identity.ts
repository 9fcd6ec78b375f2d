// Who a tailed file is: device + inode, checked against a fingerprint of its first bytes. The inode alone is not
// enough: after rotation a new file may get the inode number of a deleted one, and resuming it at the old file's
// offset would skip its first lines (the most reported bug of Fluent Bit and Filebeat).

import { open, readdir, stat, type FileHandle } from "node:fs/promises";
import { join } from "node:path";
import { crc32c } from "../../util/crc.ts";

/** Leading bytes a fingerprint covers: long enough to differ between files that start with the same header line. */
export const FINGERPRINT_BYTES = 1024;

export interface Fingerprint {
  /** CRC32C of the first `len` bytes. */
  crc: number;
  len: number;
}

/** The map key of a file: inode numbers are only unique per device. */
export function identityKey(dev: number, ino: number): string {
  return `${dev}:${ino}`;
}

/** Fingerprints the first min(size, FINGERPRINT_BYTES) bytes of an open file. */
export async function fingerprint(fh: FileHandle, size: number): Promise<Fingerprint> {
  const want = Math.min(size, FINGERPRINT_BYTES);
  if (want <= 0) return { crc: 0, len: 0 };
  const buf = new Uint8Array(want);
  const { bytesRead } = await fh.read(buf, 0, want, 0);
  return { crc: crc32c(buf.subarray(0, bytesRead)), len: bytesRead };
}

/** True when the file still starts with the bytes `fp` was taken of (a file shorter than fp.len does not). */
export async function sameStart(fh: FileHandle, fp: Fingerprint): Promise<boolean> {
  if (fp.len === 0) return true;
  const buf = new Uint8Array(fp.len);
  const { bytesRead } = await fh.read(buf, 0, fp.len, 0);
  return bytesRead === fp.len && crc32c(buf) === fp.crc;
}

export interface Listed {
  path: string;
  dev: number;
  ino: number;
  size: number;
}

/** The regular files of `dir` with their identity (a directory that cannot be listed gives none). */
export async function regularFiles(dir: string): Promise<Listed[]> {
  const out: Listed[] = [];
  for (const n of await readdir(dir).catch(() => [] as string[])) {
    const path = join(dir, n);
    const st = await stat(path).catch(() => undefined);
    if (st?.isFile()) out.push({ path, dev: st.dev, ino: st.ino, size: st.size });
  }
  return out;
}

/** True when the file at `path` starts with the bytes `fp` covers (false when it cannot be read). */
export async function startsLike(path: string, fp: Fingerprint): Promise<boolean> {
  let fh: FileHandle | undefined;
  try {
    fh = await open(path, "r");
    return await sameStart(fh, fp);
  } catch {
    return false;
  } finally {
    await fh?.close().catch(() => {});
  }
}
