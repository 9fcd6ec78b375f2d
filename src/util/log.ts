// Leveled logging to stderr, one line per record, text or JSON. The level and format are decided once at
// configuration; a disabled level is a no-op function.

export type Level = "debug" | "info" | "warn" | "error";
export type LogFormat = "text" | "json";
const ORDER: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  /** A logger whose lines name a component, e.g. `sink.k1`. */
  child(component: string): Logger;
}

interface Settings {
  level: Level;
  format: LogFormat;
  write: (line: string) => void;
}

const settings: Settings = {
  level: "info",
  format: "text",
  write: (line) => process.stderr.write(line + "\n"),
};
const listeners = new Set<() => void>();

export function configureLogging(o: Partial<Settings>): void {
  Object.assign(settings, o);
  for (const l of listeners) l();
}

const noop = () => {};

function fieldText(fields?: Record<string, unknown>): string {
  if (!fields) return "";
  let s = "";
  for (const [k, v] of Object.entries(fields)) s += ` ${k}=${typeof v === "string" && !/\s/.test(v) ? v : JSON.stringify(v)}`;
  return s;
}

class Log implements Logger {
  debug = noop as Logger["debug"];
  info = noop as Logger["info"];
  warn = noop as Logger["warn"];
  error = noop as Logger["error"];
  constructor(private readonly component: string) {
    this.bind();
    listeners.add(() => this.bind());
  }
  private bind(): void {
    for (const lvl of ["debug", "info", "warn", "error"] as const) {
      this[lvl] = ORDER[lvl] < ORDER[settings.level] ? noop : (msg, fields) => this.emit(lvl, msg, fields);
    }
  }
  private emit(level: Level, msg: string, fields?: Record<string, unknown>): void {
    const ts = new Date().toISOString();
    if (settings.format === "json") {
      settings.write(JSON.stringify({ ts, level, component: this.component || undefined, msg, ...fields }));
    } else {
      const c = this.component ? ` [${this.component}]` : "";
      settings.write(`${ts} ${level.toUpperCase().padEnd(5)}${c} ${msg}${fieldText(fields)}`);
    }
  }
  child(component: string): Logger {
    return getLogger(this.component ? `${this.component}.${component}` : component);
  }
}

const loggers = new Map<string, Logger>();

export function getLogger(component = ""): Logger {
  let l = loggers.get(component);
  if (!l) loggers.set(component, (l = new Log(component)));
  return l;
}
