// Atomic file replacement: write a temp file beside the target, fsync it, rename over the target, fsync the dir.
// A crash at any point leaves either the old file or the new one, never a mix. And the one policy for reading a
// state file back with its temp (readStateFile): every state file's owner calls it, keeping its own format.

import { open, readFile, rename, stat, unlink } from "node:fs/promises";
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
  try {
    await rename(tmp, path);
  } catch (err) {
    // Never leave a temp behind that is not the interrupted newest write (e.g. `path` is a directory): a reader
    // would otherwise take it for one.
    await unlink(tmp).catch(() => {});
    throw err;
  }
  if (durable) await fsyncDir(dirname(path));
}

/**
 * What readStateFile found. `bad`: the file is unusable and its temp cannot stand in for it — the owner refuses to
 * start (or, where a deeper truth exists, falls back), quoting `describeUnusable()`.
 */
export type StateRead<T> =
  | { kind: "none"; ignoredTemp?: string }
  | { kind: "ok"; value: T; from: "file" | "temp"; ignoredTemp?: string }
  | { kind: "bad"; problem: string; tempProblem?: string };

/**
 * Reads a state file written by atomicWriteFile, with its temp. The temp is used only when it is complete and valid
 * (`decode` accepts it, it is not empty) and not stale (not older than the file: an older temp is not the write that
 * was interrupted, since atomicWriteFile removes a temp whose rename failed). Such a temp is the newest state (a
 * crash between its write and the rename) and wins over the file. Otherwise the file decides; when it is missing
 * the state is empty; when it is corrupt the result is `bad`, saying why each of the two cannot be used.
 * `decode` returns the value or a string saying what is wrong.
 */
export async function readStateFile<T>(path: string, decode: (bytes: Uint8Array) => T | string): Promise<StateRead<T>> {
  const tmp = tempPathFor(path);
  const [fileBytes, tmpBytes] = await Promise.all([readOrUndefined(path), readOrUndefined(tmp)]);
  let tempProblem: string | undefined;
  if (tmpBytes !== undefined) {
    const decoded = tmpBytes.byteLength === 0 ? "it is empty (a write torn at its start)" : decode(tmpBytes);
    if (typeof decoded === "string") tempProblem = `it is incomplete or corrupt: ${decoded}`;
    else if (fileBytes !== undefined && (await isOlder(tmp, path))) tempProblem = "it is stale (older than the file itself, so not the write that was interrupted)";
    else return { kind: "ok", value: decoded, from: "temp" };
  }
  const ignoredTemp = tempProblem && `ignored its temp file ${tmp}: ${tempProblem}`;
  if (fileBytes === undefined) return { kind: "none", ignoredTemp };
  const decoded = decode(fileBytes);
  if (typeof decoded === "string") return { kind: "bad", problem: decoded, tempProblem };
  return { kind: "ok", value: decoded, from: "file", ignoredTemp };
}

/** "<path> is corrupt (…); its temp file … is stale / not there" — the first half of an owner's refusal. */
export function describeUnusable(path: string, r: { problem: string; tempProblem?: string }): string {
  const tmp = tempPathFor(path);
  return `${path} is corrupt (${r.problem}), and its temp file ${tmp} cannot stand in for it (${r.tempProblem ?? "there is none"})`;
}

async function readOrUndefined(path: string): Promise<Uint8Array | undefined> {
  try {
    return new Uint8Array(await readFile(path));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return undefined;
    throw err;
  }
}

async function isOlder(a: string, b: string): Promise<boolean> {
  const [sa, sb] = await Promise.all([stat(a), stat(b)]);
  return sa.mtimeMs < sb.mtimeMs;
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
