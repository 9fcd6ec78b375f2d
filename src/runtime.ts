// The only module that knows whether sluice runs on Bun or Deno. Everything else uses web standards and the
// `node:` built-ins both runtimes provide, plus what this module exports.

import os from "node:os";

declare const Bun: { version: string } | undefined;
declare const Deno: { version: { deno: string } } | undefined;

export const runtimeName: "bun" | "deno" | "node" =
  typeof Bun !== "undefined" ? "bun" : typeof Deno !== "undefined" ? "deno" : "node";

export function runtimeVersion(): string {
  if (typeof Bun !== "undefined") return `bun ${Bun.version}`;
  if (typeof Deno !== "undefined") return `deno ${Deno.version.deno}`;
  return `node ${process.version}`;
}

export function totalMemoryBytes(): number {
  return os.totalmem();
}

export function hostName(): string {
  return os.hostname();
}

/** Subscribes to a POSIX signal; returns an unsubscribe function. */
export function onSignal(signal: "SIGTERM" | "SIGINT" | "SIGHUP", handler: () => void): () => void {
  process.on(signal, handler);
  return () => process.off(signal, handler);
}

export interface ServeOptions {
  port: number;
  hostname: string;
  /** PEM text of the certificate chain and key, for HTTPS. */
  tls?: { cert: string; key: string };
  /** Largest request body the server reads (Bun enforces it before the handler runs). */
  maxRequestBodySize?: number;
  /** Seconds a connection may stay idle (Bun; Deno has no equivalent and relies on its defaults). */
  idleTimeoutSec?: number;
}

export interface Server {
  readonly port: number;
  stop(): Promise<void>;
}


/**
 * Serves a fetch handler (hono's `app.fetch`) with the runtime's own HTTP server: Bun.serve or Deno.serve.
 * `info.remoteAddress` gives the peer's address to the handler.
 */
export async function serve(
  fetch: (req: Request, info: { remoteAddress: string }) => Response | Promise<Response>,
  o: ServeOptions,
): Promise<Server> {
  // deno-lint-ignore no-explicit-any
  const g = globalThis as any;
  if (g.Bun) {
    const server = g.Bun.serve({
      port: o.port,
      hostname: o.hostname,
      tls: o.tls,
      maxRequestBodySize: o.maxRequestBodySize,
      idleTimeout: o.idleTimeoutSec ?? 10,
      // deno-lint-ignore no-explicit-any
      fetch: (req: Request, srv: any) => fetch(req, { remoteAddress: srv.requestIP(req)?.address ?? "" }),
    });
    return { port: server.port, stop: async () => void (await server.stop(true)) };
  }
  if (g.Deno) {
    let resolveListen!: (port: number) => void;
    const listening = new Promise<number>((r) => (resolveListen = r));
    const server = g.Deno.serve(
      {
        port: o.port,
        hostname: o.hostname,
        ...(o.tls ? { cert: o.tls.cert, key: o.tls.key } : {}),
        onListen: (addr: { port: number }) => resolveListen(addr.port),
      },
      // deno-lint-ignore no-explicit-any
      (req: Request, info: any) => fetch(req, { remoteAddress: info?.remoteAddr?.hostname ?? "" }),
    );
    const port = await listening;
    return { port, stop: async () => void (await server.shutdown()) };
  }
  throw new Error("serve() needs Bun or Deno");
}

/** A `fetch` that trusts `caPem` (PEM text of extra CA certificates) for https URLs: Bun's `tls.ca` or Deno's HTTP client. */
export function fetchTrusting(caPem?: string): typeof fetch {
  if (!caPem) return fetch;
  // deno-lint-ignore no-explicit-any
  const g = globalThis as any;
  if (g.Deno) {
    const client = g.Deno.createHttpClient({ caCerts: [caPem] });
    return ((input: string | URL | Request, init?: RequestInit) => fetch(input, { ...init, client } as RequestInit)) as typeof fetch;
  }
  return ((input: string | URL | Request, init?: RequestInit) => fetch(input, { ...init, tls: { ca: caPem } } as RequestInit)) as typeof fetch;
}

/**
 * The absolute command that starts this sluice again (for generated service files): the executable itself when
 * compiled (`bun build --compile`, `deno compile`), else the runtime plus the absolute path of main.ts.
 */
export function selfCommand(): string[] {
  // deno-lint-ignore no-explicit-any
  const g = globalThis as any;
  if (g.Bun) {
    const main: string = g.Bun.main ?? process.argv[1] ?? "";
    return main.startsWith("/$bunfs/") || main.startsWith("B:\\~BUN") ? [process.execPath] : [process.execPath, main];
  }
  if (g.Deno) {
    const main: string = g.Deno.mainModule ?? "";
    if (main.includes("deno-compile-")) return [g.Deno.execPath()];
    return [g.Deno.execPath(), "run", "-A", main.startsWith("file://") ? decodeURIComponent(new URL(main).pathname) : main];
  }
  return [process.execPath, process.argv[1] ?? "main.ts"];
}
