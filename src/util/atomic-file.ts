// Atomic file replacement: write a temp file beside the target, fsync it, rename over the target, fsync the dir.
// A crash at any point leaves either the old file or the new one, never a mix.

import { open, rename, unlink } from "node:fs/promises";
import { dirname, basename, join } from "node:path";

export interface AtomicWriteOptions {
  /** fsync the file and its directory (default true). Without it a kill -9 is still safe; a power cut may not be. */
  durable?: boolean;
}

/** The temp path used for `path` (readers may look for it after a crash between write and rename). */
export function tempPathFor(path: string): string {
  return join(dirname(path), `.${basename(path)}.tmp`);
}

export async function atomicWriteFile(path: string, data: Uint8Array | string, o: AtomicWriteOptions = {}): Promise<void> {
  const durable = o.durable ?? true;
  const tmp = tempPathFor(path);
  const fh = await open(tmp, "w");
  try {
    await fh.writeFile(data);
    if (durable) await fh.sync();
  } catch (err) {
    await fh.close().catch(() => {});
    await unlink(tmp).catch(() => {});
    throw err;
  }
  await fh.close();
  await rename(tmp, path);
  if (durable) await fsyncDir(dirname(path));
}

/** fsync a directory so a rename or create in it survives a power cut. */
export async function fsyncDir(dir: string): Promise<void> {
  let fh;
  try {
    fh = await open(dir, "r");
    await fh.sync();
  } catch {
    // Some filesystems refuse fsync on a directory; the rename is still atomic.
  } finally {
    await fh?.close().catch(() => {});
  }
}
