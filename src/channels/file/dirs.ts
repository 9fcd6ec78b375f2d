// Where a file channel keeps its files: defaults under the agent's state dir, and the directory rules checked once at
// load (shared with the spillable channel, whose overflow part is a file channel).

import { resolve } from "node:path";
import type { FileChannelConfig } from "./keys.ts";
import { MAX_RECORD_BYTES } from "./segment.ts";

export interface FileChannelDirs {
  checkpointDir: string;
  backupCheckpointDir?: string;
  dataDirs: string[];
}

export function resolveDirs(cfg: FileChannelConfig, stateDir: string): FileChannelDirs {
  const dataDirs = cfg.dataDirs && cfg.dataDirs.length > 0 ? cfg.dataDirs : [`${stateDir}/data`];
  return {
    checkpointDir: resolve(cfg.checkpointDir || `${stateDir}/checkpoint`),
    backupCheckpointDir: cfg.useDualCheckpoints ? resolve(cfg.backupCheckpointDir || `${stateDir}/checkpoint-backup`) : undefined,
    dataDirs: dataDirs.map((d) => resolve(d)),
  };
}

/** Directory rules shared with the spillable channel (its overflow part is a file channel). */
export function checkDirs(cfg: FileChannelConfig, report: (key: string, message: string) => void): void {
  if (cfg.maxFileSize > MAX_RECORD_BYTES) report("maxFileSize", `maxFileSize (${cfg.maxFileSize}) must be ≤ ${MAX_RECORD_BYTES} (segment offsets are 31-bit)`);
  const data = (cfg.dataDirs ?? []).map((d) => resolve(d));
  if (new Set(data).size !== data.length) report("dataDirs", `dataDirs (${cfg.dataDirs!.join(",")}) lists a directory twice`);
  if (cfg.checkpointDir && data.includes(resolve(cfg.checkpointDir))) {
    report("checkpointDir", `checkpointDir (${cfg.checkpointDir}) must not also be one of dataDirs (${cfg.dataDirs!.join(",")})`);
  }
  if (cfg.backupCheckpointDir && cfg.checkpointDir && resolve(cfg.backupCheckpointDir) === resolve(cfg.checkpointDir)) {
    report("backupCheckpointDir", `backupCheckpointDir (${cfg.backupCheckpointDir}) must differ from checkpointDir`);
  }
  if (cfg.backupCheckpointDir && data.includes(resolve(cfg.backupCheckpointDir))) {
    report("backupCheckpointDir", `backupCheckpointDir (${cfg.backupCheckpointDir}) must not also be one of dataDirs (${cfg.dataDirs!.join(",")})`);
  }
}
