// What an open take of the file channel holds: runs of PUT records (queue.ts), visible to checkpoints until the take
// commits (a TAKE record) or rolls back (the runs return to the head of the queue).

import type { Run } from "./segment.ts";

export class FileTake {
  runs: Run[] = [];
  /** Body bytes of each run in `runs` (for the TAKE record), and their sum. */
  runBytes: number[] = [];
  bytes = 0;
}
