// Flume's exec source (ExecSource): runs a command and makes each line of its standard output an event, in batches
// of batchSize or whatever batchTimeout finds waiting. A full channel stops the reading: the command blocks on its
// pipe until the batch fits, nothing is dropped. stop() sends the command's process group SIGTERM, SIGKILL after
// stopTimeout, and reaps it; the child never outlives the agent (child.ts). exec has no offsets: what the command
// printed that was not yet committed when the agent dies is gone (README says so and points to TAILDIR).

import type { ChannelProcessor } from "../../core/channel-processor.ts";
import { defineType } from "../../core/component-type.ts";
import { describeError } from "../../core/errors.ts";
import { emptyHeaders, type Event } from "../../core/event.ts";
import type { Source } from "../../core/source.ts";
import { key, type ConfigOf } from "../../core/keys.ts";
import { checkCharset, decoderFor } from "../net/charset.ts";
import type { Logger } from "../../util/log.ts";
import { LineSplitter } from "../../util/lines.ts";
import { SourceCounters } from "../../core/counters.ts";
import { Signal } from "../../util/signal.ts";
import { Child, commandArgv, type Exit } from "./child.ts";

export const execKeys = {
  command: key.string("the command to run; split on whitespace unless `shell` is set", { required: true }),
  shell: key.string("a shell to run the command with, e.g. `/bin/sh -c` (for pipes, globs, variables)"),
  restart: key.bool("run the command again when it exits", { default: false }),
  restartThrottle: key.duration("pause before a restart", { default: 10_000, unit: "ms" }),
  logStdErr: key.bool("log the command's standard error (else it is discarded)", { default: false }),
  batchSize: key.int("lines per channel transaction", { default: 20, min: 1 }),
  batchTimeout: key.duration("a batch that is not full is put after this long", { default: 3000, unit: "ms", min: 1 }),
  charset: key.string("charset of the output; lines stay the bytes printed (UTF-8 and ASCII-compatible charsets)", { default: "UTF-8" }),
  maxLineLength: key.bytes("sluice: a longer line becomes several events of this size (no byte dropped)", { default: 1024 * 1024, min: 16 }),
  stopTimeout: key.duration("sluice: time from SIGTERM to SIGKILL of the command's process group on stop", { default: 5000, unit: "ms", min: 0 }),
};
type Cfg = ConfigOf<typeof execKeys>;

const FULL_BACKOFF_MIN_MS = 50;
const FULL_BACKOFF_MAX_MS = 1000;
/** Longest stderr line logged (logStdErr); the rest of it is cut. */
const MAX_STDERR_LINE = 4096;
const CR = 0x0d;

export class ExecSource implements Source {
  readonly type = "exec";
  readonly counters = new SourceCounters();
  private readonly argv: string[];
  private child?: Child;
  private loop?: Promise<void>;
  private stopping = false;
  /** stop() gives up waiting for room in the channel after this instant. */
  private giveUpAt = Infinity;
  private pending: Event[] = [];
  private timer?: ReturnType<typeof setTimeout>;
  private flushChain: Promise<void> = Promise.resolve();
  private readonly wake = new Signal();
  private restarts = 0;
  /** Lines read but not stored because the channel stayed full through stopTimeout at stop. */
  private lostAtStop = 0;

  constructor(
    readonly name: string,
    private readonly cfg: Cfg,
    private readonly processor: ChannelProcessor,
    private readonly log: Logger,
  ) {
    this.argv = commandArgv(cfg.command, cfg.shell);
  }

  /** The running child's pid (the wrapper, leader of the command's process group). */
  get childPid(): number | undefined {
    return this.child?.running ? this.child.pid : undefined;
  }

  gauges(): Record<string, number> {
    return { ChildRunning: this.child?.running ? 1 : 0, ChildRestarts: this.restarts };
  }

  async start(): Promise<void> {
    this.counters.StartTime = Date.now();
    this.loop = this.run();
  }

  private async run(): Promise<void> {
    for (;;) {
      let exit: Exit;
      try {
        exit = await this.runOnce();
      } catch (err) {
        this.counters.GenericProcessingFail++;
        this.log.error(`command [${this.cfg.command}] failed: ${describeError(err)}`);
        exit = { code: null, signal: null };
      }
      const how = exit.signal ? `signal ${exit.signal}` : `exit code ${exit.code ?? "unknown"}`;
      if (this.stopping) return;
      const hint = exit.code === 127 ? " (command not found?)" : exit.code === 126 ? " (not executable?)" : "";
      if (!this.cfg.restart) {
        this.log.info(`command [${this.cfg.command}] exited with ${how}${hint}`);
        return;
      }
      this.log.info(`command [${this.cfg.command}] exited with ${how}${hint}; restarting in ${this.cfg.restartThrottle} ms`);
      await this.wake.wait(this.cfg.restartThrottle);
      if (this.stopping) return;
      this.restarts++;
    }
  }

  private async runOnce(): Promise<Exit> {
    const child = new Child(this.argv, this.cfg.logStdErr);
    this.child = child;
    if (child.stderr) this.logStderr(child);
    const splitter = new LineSplitter({ maxLineLength: this.cfg.maxLineLength, overlong: "split" });
    const onLine = (line: Uint8Array) => {
      // Java's readLine drops the CR of a CRLF.
      this.pending.push({ headers: emptyHeaders(), body: line.length > 0 && line[line.length - 1] === CR ? line.subarray(0, line.length - 1) : line });
    };
    // Pulling the stream one chunk at a time is the backpressure: while a batch waits for room nothing is read,
    // the pipe fills and the command blocks in write().
    for await (const chunk of child.stdout as AsyncIterable<Uint8Array>) {
      const before = this.pending.length;
      splitter.push(chunk, onLine);
      this.counters.EventReceivedCount += this.pending.length - before;
      if (this.pending.length >= this.cfg.batchSize) await this.flush(false);
      else if (this.pending.length > 0) this.armTimer();
    }
    const last = splitter.takePartial();
    if (last) {
      onLine(last.line);
      this.counters.EventReceivedCount++;
    }
    await this.flush(true);
    return child.exited;
  }

  private logStderr(child: Child): void {
    const splitter = new LineSplitter({ maxLineLength: MAX_STDERR_LINE, overlong: "truncate" });
    const dec = decoderFor(this.cfg.charset) ?? new TextDecoder();
    let n = 0;
    child.stderr!.on("data", (chunk: Uint8Array) => splitter.push(chunk, (line) => this.log.info(`stderr[${++n}]: ${dec.decode(line)}`)));
  }

  private armTimer(): void {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.flush(true);
    }, this.cfg.batchTimeout);
  }

  /** Puts full batches (and, with `all`, the rest): one flush at a time, in order. */
  private flush(all: boolean): Promise<void> {
    const run = this.flushChain.then(() => this.flushNow(all));
    this.flushChain = run.catch(() => {});
    return run;
  }

  private async flushNow(all: boolean): Promise<void> {
    const c = this.counters;
    while (this.pending.length >= this.cfg.batchSize || (all && this.pending.length > 0)) {
      if (Date.now() >= this.giveUpAt) {
        // Stopping, and the channel had no room for stopTimeout: what is left of the pipe is not tried batch by batch.
        this.lostAtStop += this.pending.length;
        this.pending = [];
        return;
      }
      const batch = this.pending.slice(0, this.cfg.batchSize);
      c.AppendBatchReceivedCount++;
      let backoff = FULL_BACKOFF_MIN_MS;
      for (;;) {
        let outcome: string;
        try {
          outcome = await this.processor.putBatch(batch);
        } catch (err) {
          c.ChannelWriteFail++;
          outcome = "error";
          if (!this.stopping) this.log.warn(`cannot put ${batch.length} lines: ${describeError(err)}; retrying`);
        }
        if (outcome === "ok") break;
        if (outcome === "full") c.ChannelWriteFail++;
        if (Date.now() >= this.giveUpAt) {
          this.lostAtStop += this.pending.length;
          this.pending = [];
          return;
        }
        await this.wake.wait(this.stopping ? Math.min(backoff, 100) : backoff);
        backoff = Math.min(backoff * 2, FULL_BACKOFF_MAX_MS);
      }
      this.pending.splice(0, batch.length);
      c.AppendBatchAcceptedCount++;
      c.EventAcceptedCount += batch.length;
    }
    if (this.pending.length === 0 && this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    } else if (this.pending.length > 0) this.armTimer();
  }

  async stop(): Promise<void> {
    if (this.stopping) return this.loop;
    this.stopping = true;
    // What the command printed before the signal still goes in, for at most stopTimeout while the channel is full.
    this.giveUpAt = Date.now() + this.cfg.stopTimeout;
    this.wake.notify();
    const child = this.child;
    if (child?.running) {
      const exit = await child.terminate(this.cfg.stopTimeout);
      this.log.info(`command [${this.cfg.command}] stopped (${exit.signal ?? `exit code ${exit.code}`})`);
    }
    // A process that left the group (setsid) may still hold the pipe open: after stopTimeout more, stop reading it.
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<"late">((r) => (timer = setTimeout(() => r("late"), this.cfg.stopTimeout + 1000)));
    if ((await Promise.race([this.loop, late])) === "late") {
      this.log.warn(`command [${this.cfg.command}]: its output pipe is still open (a process outside its group holds it); no longer reading it`);
      child?.stdout.destroy();
      await Promise.race([this.loop, new Promise((r) => setTimeout(r, 1000))]);
    }
    clearTimeout(timer);
    if (this.timer) clearTimeout(this.timer);
    if (this.lostAtStop > 0) {
      this.counters.dropped.add("stopped with the channel full", this.lostAtStop);
      this.log.error(`stopping: ${this.lostAtStop} lines printed by the command could not be stored (the channel stayed full for stopTimeout, ${this.cfg.stopTimeout} ms) and are lost`);
    }
    this.counters.StopTime = Date.now();
  }
}

export const execSourceType = defineType({
  kind: "source",
  names: ["exec", "org.apache.flume.source.ExecSource"],
  keys: execKeys,
  check(cfg, report) {
    if (commandArgv(cfg.command, cfg.shell).length === 0) report("command", "is empty");
    checkCharset(cfg.charset, (m) => report("charset", m));
  },
  create: (cfg, ctx, deps) => new ExecSource(ctx.name, cfg, deps.processor, ctx.log),
});
