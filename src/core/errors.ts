// Typed errors: each carries a stable code, whether retrying can help, and where it happened.
// Users see `message` as one line; stacks go to debug logs only.

export type ErrorCode =
  | "CONFIG"
  | "USAGE"
  | "CHANNEL_FULL"
  | "TRANSACTION_CAPACITY"
  | "CHANNEL_CLOSED"
  | "CORRUPT_LOG"
  | "DISK_FULL"
  | "IO"
  | "PROTOCOL"
  | "DELIVERY"
  | "LOCKED"
  | "INTERNAL";

export class SluiceError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly recoverable: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** One problem in a config file; `where` is `file:line` (or just the file when no line applies). */
export interface ConfigProblem {
  where: string;
  key?: string;
  message: string;
}

export function formatProblem(p: ConfigProblem): string {
  return `${p.where}: ${p.key ? `${p.key}: ` : ""}${p.message}`;
}

export class ConfigError extends SluiceError {
  constructor(
    readonly problems: ConfigProblem[],
    readonly warnings: string[] = [],
  ) {
    super("CONFIG", problems.map(formatProblem).join("\n"), false);
  }
}

/**
 * A value that does not parse or cannot be used. Parsers throw it without knowing the key (`key.int(…)`'s parser, a
 * component's own rule parser); the one who knows adds it: parseKeys turns it into a ConfigProblem with file:line and
 * key, a component at start names its key.
 */
export class ValueError extends SluiceError {
  readonly key?: string;
  readonly value?: string;
  constructor(
    readonly detail: string,
    o: { key?: string; value?: string; cause?: unknown } = {},
  ) {
    super("CONFIG", o.key ? `${o.key}${o.value !== undefined ? ` = ${o.value}` : ""}: ${detail}` : detail, false, { cause: o.cause });
    this.key = o.key;
    this.value = o.value;
  }
}

/**
 * A component could not be created or started. Names it (`source r1`) and keeps the cause's code and `recoverable`
 * (a typed cause's own; an OS error is IO, anything else INTERNAL); the cause stays reachable as `cause`.
 */
export class ComponentError extends SluiceError {
  constructor(
    readonly component: string,
    readonly phase: "create" | "start",
    cause: unknown,
    typeName?: string,
  ) {
    super(codeOf(cause), `cannot ${phase} ${component}${typeName ? ` (${typeName})` : ""}: ${describeError(cause)}`, recoverableOf(cause), { cause });
  }
}

function codeOf(err: unknown): ErrorCode {
  if (err instanceof SluiceError) return err.code;
  return typeof (err as NodeJS.ErrnoException | undefined)?.code === "string" ? "IO" : "INTERNAL";
}

function recoverableOf(err: unknown): boolean {
  return err instanceof SluiceError ? err.recoverable : false;
}

export class UsageError extends SluiceError {
  constructor(message: string) {
    super("USAGE", message, false);
  }
}

/** The channel could not take the batch within its keep-alive: the caller keeps the batch and backs off. */
export class ChannelFullError extends SluiceError {
  constructor(channel: string, detail: string) {
    super("CHANNEL_FULL", `channel ${channel} is full: ${detail}`, true);
  }
}

/** More puts or takes in one transaction than `transactionCapacity`: a configuration mistake, not load. */
export class TransactionCapacityError extends SluiceError {
  constructor(channel: string, asked: number, capacity: number) {
    super(
      "TRANSACTION_CAPACITY",
      `channel ${channel}: a transaction of ${asked} events exceeds transactionCapacity (${capacity}); ` +
        `raise the channel's transactionCapacity or lower the source's/sink's batchSize`,
      false,
    );
  }
}

export class ChannelClosedError extends SluiceError {
  constructor(channel: string) {
    super("CHANNEL_CLOSED", `channel ${channel} is closed`, false);
  }
}

export class CorruptLogError extends SluiceError {
  constructor(message: string, readonly file: string, readonly offset: number) {
    super("CORRUPT_LOG", `${file} at offset ${offset}: ${message}`, false);
  }
}

export class DiskFullError extends SluiceError {
  constructor(message: string) {
    super("DISK_FULL", message, true);
  }
}

/**
 * A sink could not hand a batch to its destination; the take is rolled back and retried. `retryAfterMs` is the
 * destination's own word on when to come back (HTTP `Retry-After`): the runner waits at least that long.
 */
export class DeliveryError extends SluiceError {
  readonly retryAfterMs?: number;
  constructor(message: string, options?: { cause?: unknown; retryAfterMs?: number }) {
    super("DELIVERY", message, true, options);
    this.retryAfterMs = options?.retryAfterMs;
  }
}

/** One line for a user: a SluiceError's message, or the cause's message for anything else. */
export function describeError(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as NodeJS.ErrnoException).code;
    return code && !(err instanceof SluiceError) && !err.message.includes(code) ? `${err.message} (${code})` : err.message;
  }
  return String(err);
}
