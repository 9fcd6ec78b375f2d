// A real terminal for CLI tests: a private tmux server (its own socket), one detached session of a given size
// running a command; keys are sent and the screen read with capture-pane. Everything is killed after the run.

import { onCleanup, waitFor } from "../helpers/index.ts";

export interface Terminal {
  /** The visible rows, as tmux draws them (trailing spaces trimmed). */
  screen(): string[];
  /** The visible rows with wrapped lines joined (a long log line comes back whole). */
  joined(): string[];
  keys(...keys: string[]): void;
  resize(cols: number, rows?: number): void;
  /** Waits until a row matches. */
  waitRow(what: string, pred: (row: string) => boolean, timeoutMs?: number): Promise<string>;
}

let sessions = 0;

function tmux(socket: string, args: string[]): string {
  const r = Bun.spawnSync(["tmux", "-L", socket, "-f", "/dev/null", ...args], { stdout: "pipe", stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`tmux ${args[0]}: ${r.stderr.toString().trim()}`);
  return r.stdout.toString();
}

/** Starts `command` (a shell line) in a cols×rows terminal in `cwd`. */
export function openTerminal(command: string, cols: number, rows: number, cwd: string): Terminal {
  const socket = `sluice-test-${process.pid}-${++sessions}`;
  onCleanup(() => Bun.spawnSync(["tmux", "-L", socket, "kill-server"], { stdout: "ignore", stderr: "ignore" }));
  // The pane stays after the command ends (remain-on-exit), so its last screen can still be read.
  tmux(socket, ["new-session", "-d", "-s", "t", "-x", String(cols), "-y", String(rows), "-c", cwd, "-e", "TERM=xterm-256color", command]);
  tmux(socket, ["set-option", "-t", "t", "remain-on-exit", "on"]);
  tmux(socket, ["set-option", "-t", "t", "window-size", "manual"]);
  const capture = (join: boolean) => tmux(socket, ["capture-pane", "-p", ...(join ? ["-J"] : []), "-t", "t"]).split("\n").map((l) => l.trimEnd());
  const t: Terminal = {
    screen: () => capture(false),
    joined: () => capture(true),
    keys: (...keys) => void tmux(socket, ["send-keys", "-t", "t", ...keys]),
    resize: (c, r = rows) => void tmux(socket, ["resize-window", "-t", "t", "-x", String(c), "-y", String(r)]),
    waitRow: (what, pred, timeoutMs = 20_000) => waitFor(what, () => t.screen().find(pred), timeoutMs, 50),
  };
  return t;
}
