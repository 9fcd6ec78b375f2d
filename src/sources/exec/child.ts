// The exec source's child process: started in a process group of its own under a small POSIX sh wrapper, so that
// stop() reaches the command and everything it started (a pipeline, `tail -F | grep`), and so that the command never
// outlives the agent: the wrapper watches a pipe whose other end only the agent holds, and when the agent is gone —
// even after kill -9, which no exit handler sees — the pipe reads EOF and the wrapper takes the whole group down.
// No prctl(PR_SET_PDEATHSIG) is needed, which neither Bun nor Deno exposes; it works the same on Linux and macOS.

import { spawn, type ChildProcess } from "node:child_process";
import type { Readable } from "node:stream";

// $@ is the command. fd 3 keeps the agent's pipe for the watcher (an asynchronous list's stdin is /dev/null
// otherwise). The trap forwards a TERM sent to the wrapper alone to the command, in case the group kill failed; the
// wrapper then keeps waiting, so a command that takes its time to finish on TERM is not cut short (the agent's
// SIGKILL after stopTimeout is the bound). `wait` returns early when a trapped signal arrives: hence the loop.
const WRAPPER = [
  "exec 3<&0",
  '"$@" </dev/null 3<&- &',
  "child=$!",
  "( while read -r _; do :; done; kill -TERM 0 ) <&3 >/dev/null 2>&1 &",
  "watcher=$!",
  "exec 3<&-",
  'trap \'kill -TERM "$child" 2>/dev/null\' TERM INT',
  'while :; do wait "$child"; code=$?; kill -0 "$child" 2>/dev/null || break; done',
  'kill "$watcher" 2>/dev/null',
  'exit "$code"',
].join("\n");

export interface Exit {
  code: number | null;
  signal: string | null;
}

export class Child {
  private readonly proc: ChildProcess;
  /** Resolves once the process exited and was reaped. */
  readonly exited: Promise<Exit>;
  private done = false;

  constructor(argv: readonly string[], logStdErr: boolean) {
    this.proc = spawn("/bin/sh", ["-c", WRAPPER, "sluice-exec", ...argv], {
      detached: true,
      stdio: ["pipe", "pipe", logStdErr ? "pipe" : "ignore"],
    });
    this.exited = new Promise<Exit>((resolve) => {
      this.proc.once("exit", (code, signal) => {
        this.done = true;
        resolve({ code, signal });
      });
      this.proc.once("error", () => {
        this.done = true;
        resolve({ code: null, signal: null });
      });
    });
    // The agent never writes: the pipe only tells the wrapper that the agent lives.
    this.proc.stdin?.on("error", () => {});
  }

  get pid(): number | undefined {
    return this.proc.pid;
  }

  get stdout(): Readable {
    return this.proc.stdout!;
  }

  get stderr(): Readable | null {
    return this.proc.stderr;
  }

  get running(): boolean {
    return !this.done;
  }

  /** Sends `signal` to the whole group (the command and what it started); to the wrapper alone if that fails. */
  signal(signal: "SIGTERM" | "SIGKILL"): void {
    const pid = this.proc.pid;
    if (this.done || pid === undefined) return;
    try {
      process.kill(-pid, signal);
    } catch {
      try {
        process.kill(pid, signal);
      } catch {
        // Gone already.
      }
    }
  }

  /** SIGTERM, then SIGKILL after `graceMs`; resolves once reaped. */
  async terminate(graceMs: number): Promise<Exit> {
    this.signal("SIGTERM");
    let timer: ReturnType<typeof setTimeout> | undefined;
    const killed = new Promise<void>((r) => {
      timer = setTimeout(() => {
        this.signal("SIGKILL");
        r();
      }, graceMs);
    });
    await Promise.race([this.exited, killed]);
    clearTimeout(timer);
    const exit = await this.exited;
    // A member of the group that ignored SIGTERM outlives the wrapper: the group id stays reserved while it lives.
    if (this.proc.pid !== undefined) {
      try {
        process.kill(-this.proc.pid, "SIGKILL");
      } catch {
        // The group is empty.
      }
    }
    return exit;
  }
}

/** Flume's argv: the command split on whitespace, or `shell` split on whitespace followed by the whole command. */
export function commandArgv(command: string, shell: string | undefined): string[] {
  const split = (s: string) => s.trim().split(/\s+/).filter((w) => w.length > 0);
  return shell && shell.trim() ? [...split(shell), command] : split(command);
}
