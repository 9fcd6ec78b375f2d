// The unit that flows through sluice: headers plus a body that stays bytes from read to write.

export interface Event {
  headers: Record<string, string>;
  body: Uint8Array;
}

const encoder = new TextEncoder();
const EMPTY_HEADERS: Record<string, string> = Object.freeze({}) as Record<string, string>;

/** Builds an event; `headers` is shared, not copied (interceptors copy on write, see withHeader). */
export function makeEvent(body: Uint8Array | string, headers: Record<string, string> = {}): Event {
  return { headers, body: typeof body === "string" ? encoder.encode(body) : body };
}

/** A frozen empty header map that sources may share between events; writers must replace, never mutate it. */
export function emptyHeaders(): Record<string, string> {
  return EMPTY_HEADERS;
}

/**
 * Sets `headers[key] = value` for any key: a header named `__proto__` is an ordinary own entry (a plain assignment
 * would call the prototype setter and drop it silently). Spreads and JSON keep such an own entry as it is.
 */
export function setHeader(headers: Record<string, string>, key: string, value: string): void {
  if (key === "__proto__") Object.defineProperty(headers, key, { value, enumerable: true, writable: true, configurable: true });
  else headers[key] = value;
}

/** The header's value, or undefined: only own entries count (`constructor`, `toString` are not inherited headers). */
export function headerOf(headers: Record<string, string>, key: string): string | undefined {
  return Object.hasOwn(headers, key) ? headers[key] : undefined;
}

/** Sets one header without mutating a map that other events may share. */
export function withHeader(event: Event, key: string, value: string): void {
  if (Object.isFrozen(event.headers)) event.headers = { ...event.headers };
  setHeader(event.headers, key, value);
}

/** Total body bytes of a batch: what byte capacities and metrics count. */
export function bodyBytes(events: readonly Event[]): number {
  let n = 0;
  for (let i = 0; i < events.length; i++) n += events[i]!.body.byteLength;
  return n;
}
