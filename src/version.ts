// The version printed by `sluice version`; kept in step with package.json by tests/cli/version.test.ts.
export const VERSION = "0.1.0";
