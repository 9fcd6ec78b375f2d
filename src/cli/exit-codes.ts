// Process exit codes, documented in README ("Exit codes").

export const EXIT_OK = 0;
/** A runtime failure: a component could not start, an unrecoverable I/O error. */
export const EXIT_RUNTIME = 1;
/** Bad usage or an invalid config file. */
export const EXIT_CONFIG = 2;
/** `agent --once`: a sink stayed unreachable past --max-runtime; what is safe was persisted, the next run resumes. */
export const EXIT_INCOMPLETE = 3;
