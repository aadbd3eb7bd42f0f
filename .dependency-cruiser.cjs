/**
 * The import rules (`npm run lint:imports`): no cycles (type-only imports included), and imports
 * point one way: top (app, main, workers, docs) → http → realtime → features → shared (protocol,
 * events, timeline, state) → base (db, config, errors, text, redis) and the plain models.
 */
const FEATURES = "^src/(auth|chat|moderation|playback|progress|rooms|lifecycle|discovery|providers|sync|admin|party)/";
/** Plain data shared by the layers below the features (no queries, no services). */
const MODELS = "^src/(playback/snapshot|rooms/media|rooms/roles-model)[.]ts$";

module.exports = {
  forbidden: [
    {
      name: "no-circular",
      severity: "error",
      comment: "Import cycles make the order of evaluation and the design hard to follow.",
      from: {},
      to: { circular: true },
    },
    {
      name: "shared-not-upward",
      severity: "error",
      comment: "protocol/, events/, timeline/ and state/ are used by every feature: they may import only the base and the plain models.",
      from: { path: "^src/(protocol|events|timeline|state)/" },
      to: { path: [FEATURES, "^src/(realtime|http|docs)/", "^src/(app|main)[.]ts$"], pathNot: [MODELS, "^src/auth/service[.]ts$"] },
    },
    {
      name: "shared-types-only-from-auth",
      severity: "error",
      comment: "The shared layer may name the authenticated user's type, nothing else of auth.",
      from: { path: "^src/(protocol|events|timeline|state)/" },
      to: { path: "^src/auth/service[.]ts$", dependencyTypesNot: ["type-only"] },
    },
    {
      name: "features-not-upward",
      severity: "error",
      comment: "Features know nothing of transports, the hub, HTTP plumbing or the app.",
      from: { path: FEATURES },
      to: { path: ["^src/(realtime|docs)/", "^src/(app|main)[.]ts$"] },
    },
    {
      name: "realtime-not-upward",
      severity: "error",
      from: { path: "^src/realtime/" },
      to: { path: ["^src/(http|docs)/", "^src/(app|main)[.]ts$"] },
    },
    {
      name: "base-not-upward",
      severity: "error",
      comment: "The base (config, db, errors, text, redis, the schema) imports nothing of the application.",
      from: { path: ["^src/(config|db|errors|text|redis|db-lock)[.]ts$", "^db/schema[.]ts$"] },
      to: { path: ["^src/[^/]+/", "^src/(app|main)[.]ts$"] },
    },
  ],
  options: {
    tsConfig: { fileName: "tsconfig.json" },
    tsPreCompilationDeps: true,
    doNotFollow: { path: "node_modules" },
    exclude: { path: "node_modules" },
  },
};
