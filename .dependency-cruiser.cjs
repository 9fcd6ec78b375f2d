// The layer rule `make layers` checks (and `make test` runs first). Imports point down only:
//
//   runtime.ts, version.ts  →  util  →  core  →  components  →  registry.ts  →  config  →  metrics  →  cli  →  main.ts
//
// components: sources, channels, sinks, sinkgroups, interceptors, selectors, avro. A component imports core, util and
// runtime; between component rooms only sources → avro and sinks → avro (the Flume protocol and the Avro container
// format are a library both sides share). A room may import any file of its own (spillable uses the file channel).
// config reaches components only through the registry. And no import cycle anywhere, type-only imports included.

/** Every room under src/ and what it may import besides itself. */
const BASE = ["runtime", "version"];
const COMPONENTS = ["sources", "channels", "sinks", "sinkgroups", "interceptors", "selectors", "avro"];
const CORE_AND_BELOW = [...BASE, "util", "core"];
const ALLOWED = {
  runtime: [],
  version: [],
  util: BASE,
  core: [...BASE, "util"],
  avro: CORE_AND_BELOW,
  sources: [...CORE_AND_BELOW, "avro"],
  sinks: [...CORE_AND_BELOW, "avro"],
  channels: CORE_AND_BELOW,
  sinkgroups: CORE_AND_BELOW,
  interceptors: CORE_AND_BELOW,
  selectors: CORE_AND_BELOW,
  registry: [...CORE_AND_BELOW, ...COMPONENTS],
  config: [...CORE_AND_BELOW, "registry"],
  metrics: [...CORE_AND_BELOW, "registry", "config"],
  cli: [...CORE_AND_BELOW, ...COMPONENTS, "registry", "config", "metrics"],
};

/** A room is a folder under src/ or one file directly in it (registry.ts, runtime.ts, version.ts). */
const roomPath = (r) => `^src/${r}(/|\\.ts$)`;
const anyOf = (rooms) => `(${rooms.map(roomPath).join("|")})`;

const layerRules = Object.entries(ALLOWED).map(([room, allowed]) => ({
  name: `${room}-imports-down`,
  comment: `${room} may import only ${allowed.length ? allowed.join(", ") : "nothing of src/"} (see .dependency-cruiser.cjs)`,
  severity: "error",
  from: { path: roomPath(room) },
  to: { path: "^(src/|main\\.ts$)", pathNot: anyOf([room, ...allowed]) },
}));

module.exports = {
  forbidden: [
    ...layerRules,
    {
      name: "no-cycles",
      comment: "an import cycle: move the shared type to the file that owns it",
      severity: "error",
      from: {},
      to: { circular: true },
    },
    {
      name: "every-file-has-a-room",
      comment: "a new top-level room under src/ needs its place in the layers (.dependency-cruiser.cjs)",
      severity: "error",
      from: { path: "^src/", pathNot: anyOf(Object.keys(ALLOWED)) },
      to: {},
    },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    exclude: { path: "^(node_modules|tests|bench)/" },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    enhancedResolveOptions: { extensions: [".ts", ".js", ".d.ts"] },
  },
};
