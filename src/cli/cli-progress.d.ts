// The part of cli-progress (which ships no types) that src/cli/progress.ts uses.
declare module "cli-progress" {
  export interface Options {
    stream?: NodeJS.WritableStream;
    hideCursor?: boolean;
    clearOnComplete?: boolean;
    fps?: number;
    format?: string;
  }
  export interface Bar {
    update(value: number, payload?: Record<string, unknown>): void;
    setTotal(total: number): void;
  }
  export class MultiBar {
    constructor(options: Options, preset?: unknown);
    create(total: number, start: number, payload?: Record<string, unknown>): Bar;
    log(text: string): void;
    stop(): void;
  }
  export const Presets: { shades_classic: unknown; legacy: unknown; rect: unknown };
}
