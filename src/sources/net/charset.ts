// Charsets of the line and syslog sources (exec `charset`, netcat `encoding`, multiport `charset.default` /
// `charset.port.N`): the events keep the bytes received; a charset only decides whether a message is valid (Flume's
// decoder fails on malformed input and marks a syslog event Invalid). Only charsets that keep ASCII as ASCII are
// accepted: newlines, octet counts and syslog header fields are found in the bytes.

import { isUtf8 } from "node:buffer";

const NOT_ASCII_COMPATIBLE = /^(utf-?16|utf-?32|ucs-?2|utf-?7)/i;

/** The runtime's decoder for a WHATWG charset label, or undefined when it knows none. */
export function decoderFor(label: string, fatal = false): TextDecoder | undefined {
  try {
    return new TextDecoder(label.trim() as "utf-8", { fatal });
  } catch {
    return undefined;
  }
}

/** Reports (one message) a charset sluice cannot use. */
export function checkCharset(label: string, report: (message: string) => void): void {
  if (NOT_ASCII_COMPATIBLE.test(label.trim())) {
    report(`charset "${label}" does not keep ASCII as ASCII, so lines cannot be found in its bytes; use UTF-8 or another ASCII-compatible charset (ISO-8859-1, windows-1252…)`);
  } else if (!decoderFor(label)) {
    report(`unknown charset "${label}" (e.g. UTF-8, ISO-8859-1, windows-1252, Shift_JIS)`);
  }
}

function checker(label: string): (msg: Uint8Array) => boolean {
  const l = label.trim().toLowerCase();
  if (l === "utf-8" || l === "utf8") return (msg) => isUtf8(msg);
  const dec = decoderFor(l, true);
  if (!dec) return () => true;
  return (msg) => {
    try {
      dec.decode(msg);
      return true;
    } catch {
      return false;
    }
  };
}

/** Whether a message is valid in its port's charset. */
export function charsetChecker(defaultLabel: string, perPort: ReadonlyMap<number, string>): (msg: Uint8Array, port: number) => boolean {
  const def = checker(defaultLabel);
  const ports = new Map([...perPort].map(([p, l]) => [p, checker(l)]));
  return (msg, port) => (ports.get(port) ?? def)(msg);
}
