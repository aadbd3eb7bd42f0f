/**
 * Composition root: builds the database, shared state, services and the HTTP server from a
 * Config. Tests call buildApp() with their own config and listen on port 0.
 */

import { randomUUID } from "node:crypto";
import cors from "@fastify/cors";
import helmet from "@fastify/helmet";
import swagger from "@fastify/swagger";
import swaggerUi from "@fastify/swagger-ui";
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from "fastify";
import { serializerCompiler, validatorCompiler, type ZodTypeProvider } from "fastify-type-provider-zod";
import { Registry } from "prom-client";
import type { Server as SocketIoServer } from "socket.io";
import { migrateToLatest } from "../db/migrator.js";
import { adminRoutes } from "./admin/routes.js";
import { installAdminUi } from "./admin/ui.js";
import { authRoutes, setUsernameRoute } from "./auth/routes.js";
import { AUTH_LIMITS, AuthService } from "./auth/service.js";
import { TokenService } from "./auth/tokens.js";
import { BufferingCoordinator } from "./buffering/coordinator.js";
import { bufferingRoutes } from "./buffering/routes.js";
import { BufferingSettingsService } from "./buffering/settings.js";
import { chatRoutes } from "./chat/routes.js";
import { ChatService } from "./chat/service.js";
import { ChatSettingsService } from "./chat/settings.js";
import type { Config } from "./config.js";
import { type Database, type DB, openDatabase, type QueryObserver } from "./db.js";
import { discoveryRoutes } from "./discovery/routes.js";
import { DiscoveryService } from "./discovery/service.js";
import type { RoomEventBus } from "./events/room-events.js";
import { createAuthGuards } from "./http/auth-guard.js";
import { installDemo } from "./http/demo.js";
import { installErrorHandling, replyFrameworkError } from "./http/errors.js";
import { installJsonBodyParser } from "./http/json-body.js";
import { installLoadShedding, loadState } from "./http/load-shedding.js";
import { openApiOptions } from "./http/openapi.js";
import { answerReadinessWhileClosing, healthRoutes, installMetrics } from "./http/ops.js";
import { createHardenedServer } from "./http/server.js";
import type { GraceScheduler } from "./lifecycle/scheduler.js";
import type { RoomLifecycle } from "./lifecycle/service.js";
import { createLogger } from "./logger.js";
import { RealtimeMetrics, registerRealtimeGauges } from "./metrics/realtime.js";
import { serveMetrics } from "./metrics/server.js";
import { queryMetrics, redisErrorMetrics, registerRoomStateGauge } from "./metrics/stores.js";
import { ModerationService } from "./moderation/service.js";
import { partyRoutes } from "./party/routes.js";
import type { PartyService } from "./party/service.js";
import { sourceRoutes } from "./playback/routes.js";
import { PlaybackService } from "./playback/service.js";
import { SourceService } from "./playback/source.js";
import { progressRoutes } from "./progress/routes.js";
import { ProgressService } from "./progress/service.js";
import { DirectProvider } from "./providers/direct.js";
import { ProviderRegistry } from "./providers/registry.js";
import { TmdbClient } from "./providers/tmdb.js";
import { VidkingProvider } from "./providers/vidking.js";
import { YoutubeProvider } from "./providers/youtube.js";
import { AutoAdvance } from "./queue/auto-advance.js";
import { queueRoutes } from "./queue/routes.js";
import { QueueService } from "./queue/service.js";
import { ApprovalWaits } from "./realtime/approvals.js";
import { createRealtimeBackends, type RealtimeBackends } from "./realtime/backends.js";
import { ConnectionGuard } from "./realtime/guard.js";
import { RoomHub } from "./realtime/hub.js";
import { attachRawWebSocket } from "./realtime/rawws.js";
import { attachSocketIo, SOCKET_IO_PATH } from "./realtime/socketio.js";
import { clientIdOf, connectRedis, type RedisClient, withRequestTimeout } from "./redis.js";
import { inviteRoutes } from "./rooms/invite-routes.js";
import { InviteService } from "./rooms/invites.js";
import { PersistenceService } from "./rooms/persistence.js";
import { persistenceRoutes } from "./rooms/persistence-routes.js";
import { RoleService } from "./rooms/roles.js";
import { roleRoutes } from "./rooms/roles-routes.js";
import { roomRoutes } from "./rooms/routes.js";
import { RoomService } from "./rooms/service.js";
import { type JsonCache, MemoryCache, RedisCache } from "./state/cache.js";
import { type AttemptLimiter, type LimitRule, MemoryLimiter, RedisLimiter } from "./state/limiter.js";
import type { RealtimeState } from "./state/realtime-state.js";
import { SyncTelemetry } from "./sync/telemetry.js";

export interface AppServices {
  auth: AuthService;
  tokens: TokenService;
  rooms: RoomService;
  roles: RoleService;
  /** A host's invite links (they admit through RoomService.join). */
  invites: InviteService;
  chat: ChatService;
  /** The host's chat settings (on/off, slow mode) over REST. */
  chatSettings: ChatSettingsService;
  playback: PlaybackService;
  /** The host's choice of the room's media over REST. */
  source: SourceService;
  moderation: ModerationService;
  progress: ProgressService;
  queue: QueueService;
  persistence: PersistenceService;
  buffering: BufferingSettingsService;
  discovery: DiscoveryService;
  providers: ProviderRegistry;
}

export interface StreamItApp {
  config: Config;
  http: FastifyInstance;
  database: Database;
  redis: RedisClient | undefined;
  events: RoomEventBus;
  realtime: {
    hub: RoomHub;
    state: RealtimeState;
    io: SocketIoServer;
    scheduler: GraceScheduler;
    lifecycle: RoomLifecycle;
    /** Scheduled parties (their timers when embedded; the lifecycle worker runs their jobs in cluster mode). */
    parties: PartyService;
  };
  limiter: AttemptLimiter;
  services: AppServices;
  /** The Prometheus registry, and the port of its own it is served on (METRICS_PORT), if any. */
  metrics: { registry: Registry; port?: number | undefined };
  /** Stops accepting work and releases every resource. Safe to call twice. */
  close(): Promise<void>;
}

const REQUEST_ID_PATTERN = /^[\w.:-]{1,64}$/;
const ADMIN_UI_CSP = {
  defaultSrc: ["'self'"],
  connectSrc: ["'self'", "ws:", "wss:"],
  styleSrc: ["'self'", "'unsafe-inline'", "https:"],
  fontSrc: ["'self'", "https:", "data:"],
  imgSrc: ["'self'", "data:"],
  frameAncestors: ["'none'"],
};

function createHttpServer(config: Config, isShuttingDown: () => boolean): FastifyInstance {
  return Fastify({
    serverFactory: (handler) =>
      createHardenedServer(answerReadinessWhileClosing(handler, isShuttingDown), {
        headersTimeoutMs: config.HTTP_HEADERS_TIMEOUT_MS,
        pendingPerClient: config.HTTP_PENDING_PER_CLIENT,
        trustProxy: config.TRUST_PROXY,
      }),
    // Typed as Fastify's base logger so the instance keeps its default generic (a pino Logger is one).
    loggerInstance: createLogger(config) as FastifyBaseLogger,
    trustProxy: config.TRUST_PROXY,
    bodyLimit: config.BODY_LIMIT_BYTES,
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 200 },
    requestIdHeader: false,
    frameworkErrors: (err, _request, reply) => replyFrameworkError(err, reply),
    genReqId: (req) => {
      const incoming = req.headers["x-request-id"];
      return typeof incoming === "string" && REQUEST_ID_PATTERN.test(incoming) ? incoming : randomUUID();
    },
  });
}

async function installHttpBasics(http: FastifyInstance, config: Config): Promise<void> {
  http.setValidatorCompiler(validatorCompiler);
  http.setSerializerCompiler(serializerCompiler);
  installErrorHandling(http);
  await installLoadShedding(http, {
    maxEventLoopDelayMs: config.EVENT_LOOP_DELAY_MAX_MS,
    maxHeapUsedBytes: config.HEAP_USED_MAX_BYTES,
    maxRssBytes: config.RSS_MAX_BYTES,
  });

  // JSON bodies only (anything else is 415); NUL and lone surrogates refused after parsing.
  installJsonBodyParser(http);

  // A POST with no body at all validates as an empty object, like an empty JSON body.
  http.addHook("preValidation", async (request) => {
    if (request.body == null && request.method !== "GET" && request.method !== "HEAD") request.body = {};
  });
  http.addHook("onRequest", async (request, reply) => {
    reply.header("X-Request-ID", request.id);
  });
  http.addHook("onRoute", (route) => {
    // The v1 aliases serve the same routes; document each operation once.
    if (route.url.startsWith("/api/v1/")) route.schema = { ...route.schema, hide: true };
    // The Admin UI page loads its own scripts and styles and talks to /socket.io/.
    if (route.url.startsWith("/admin/")) {
      route.config = { ...route.config, helmet: { contentSecurityPolicy: { directives: ADMIN_UI_CSP } } } as typeof route.config;
    }
  });

  await http.register(helmet, {
    frameguard: { action: "deny" },
    referrerPolicy: { policy: "same-origin" },
    crossOriginOpenerPolicy: { policy: "same-origin" },
    contentSecurityPolicy: {
      directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] },
    },
  });
  await http.register(cors, {
    origin: config.CORS_ORIGINS.includes("*") ? true : config.CORS_ORIGINS,
    credentials: true,
    methods: ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
    allowedHeaders: ["Content-Type", "Authorization", "X-Request-ID"],
    exposedHeaders: ["X-Request-ID", "Retry-After"],
    maxAge: 600,
  });
  await http.register(swagger, openApiOptions);
  await http.register(swaggerUi, {
    routePrefix: "/api/docs",
    staticCSP: true,
    // The UI page needs its own CSP (scripts, styles, images) instead of the API's 'none'.
    transformStaticCSP: (header) => header,
  });
  http.get("/api/schema/", { schema: { hide: true } }, async () => http.swagger());
}

/** The database (migrated) and, when configured, Redis. */
async function openStores(
  config: Config,
  logRedisError: (err: Error) => void,
  onQuery: QueryObserver,
): Promise<{ database: Database; redis: RedisClient | undefined }> {
  const database = await openDatabase(config.database, onQuery);
  try {
    await migrateToLatest(database.db, database.schema);
    database.setQueryTimeout(config.DATABASE_QUERY_TIMEOUT_MS);
    // node-redis reconnects by itself; /health/ reports the outage meanwhile.
    const redis = config.REDIS_URL ? await connectRedis(config.REDIS_URL, logRedisError) : undefined;
    return { database, redis };
  } catch (err) {
    await database.close();
    throw err;
  }
}

/** Every domain service, built once (REST and the realtime hub share them). */
function createServices(
  config: Config,
  db: DB,
  realtime: RealtimeBackends,
  limiter: AttemptLimiter,
  cache: JsonCache,
  log: FastifyBaseLogger,
): AppServices {
  const { events } = realtime;
  const tokens = new TokenService(config.JWT_SECRET, config.ACCESS_TOKEN_TTL_SECONDS);
  const providers = new ProviderRegistry(
    [
      new VidkingProvider(new TmdbClient({ baseUrl: config.TMDB_BASE_URL, apiKey: config.TMDB_API_KEY })),
      new DirectProvider(),
      new YoutubeProvider({ metadataUrl: config.YOUTUBE_METADATA_URL, timeoutMs: config.YOUTUBE_METADATA_TIMEOUT_MS }),
    ],
    cache,
    (err, provider, id) => log.warn({ err: (err as Error).message, provider, id }, "media metadata look-up failed"),
  );
  // Login and room-password guessing: a budget per window, then escalating lockouts.
  const bruteForce = (limit: number): LimitRule => ({
    limit,
    windowSeconds: config.BRUTE_FORCE_WINDOW_SECONDS,
    escalate: { maxLockSeconds: config.LOCKOUT_MAX_SECONDS },
  });
  return {
    auth: new AuthService(
      db,
      tokens,
      limiter,
      config.REFRESH_TOKEN_TTL_SECONDS,
      (sessionIds) => events.publish({ type: "sessions.revoked", sessionIds }),
      {
        loginPerClient: bruteForce(config.LOGIN_ATTEMPTS_PER_CLIENT),
        loginPerAccount: bruteForce(config.LOGIN_ATTEMPTS_PER_ACCOUNT),
        signupPerClient: { limit: config.SIGNUPS_PER_CLIENT, windowSeconds: AUTH_LIMITS.signupPerClient.windowSeconds },
      },
    ),
    tokens,
    rooms: new RoomService(db, events, limiter, providers, {
      perClient: bruteForce(config.ROOM_PASSWORD_ATTEMPTS_PER_CLIENT),
      perAccount: bruteForce(config.ROOM_PASSWORD_ATTEMPTS_PER_ACCOUNT),
    }),
    roles: new RoleService(db, events),
    persistence: new PersistenceService(db, events, config.PERSISTENT_ROOMS_PER_HOST),
    invites: new InviteService(db),
    chat: new ChatService(db),
    chatSettings: new ChatSettingsService(db, events),
    playback: new PlaybackService(db),
    source: new SourceService(db, events, providers),
    moderation: new ModerationService(db),
    progress: new ProgressService(db),
    queue: new QueueService(db, events, providers),
    buffering: new BufferingSettingsService(db, events),
    discovery: new DiscoveryService(db, realtime.state.presence),
    providers,
  };
}

/** The REST API, under /api and /api/v1. */
async function registerApi(
  http: FastifyInstance,
  config: Config,
  deps: {
    database: Database;
    redis: RedisClient | undefined;
    realtime: RealtimeBackends;
    services: AppServices;
    limiter: AttemptLimiter;
    isShuttingDown: () => boolean;
  },
): Promise<void> {
  const { database, redis, realtime, services, limiter, isShuttingDown } = deps;
  const guards = createAuthGuards(services.auth);
  const api = http.withTypeProvider<ZodTypeProvider>();
  // One budget of unknown room codes per address, shared by every route that looks a code up.
  const codeMisses: LimitRule = { limit: config.ROOM_CODE_MISSES_PER_CLIENT, windowSeconds: 10 * 60 };
  await api.register(
    healthRoutes({
      database: database.ping,
      redis: redis && (async () => void (await redis.ping())),
      load: () => loadState(http),
      draining: isShuttingDown,
    }),
  );
  for (const base of ["/api", "/api/v1"]) {
    await api.register(authRoutes(services.auth), { prefix: `${base}/auth` });
    await api.register(setUsernameRoute(services.auth), { prefix: base });
    await api.register(
      roomRoutes(
        services.rooms,
        guards,
        {
          limiter,
          joins: { limit: config.ROOM_JOINS_PER_CLIENT, windowSeconds: 60 },
          creates: { limit: config.ROOM_CREATES_PER_CLIENT, windowSeconds: 10 * 60 },
          codeMisses,
        },
        realtime.parties,
      ),
      { prefix: `${base}/rooms` },
    );
    await api.register(partyRoutes(realtime.parties, guards), { prefix: `${base}/rooms` });
    await api.register(chatRoutes(services.chatSettings, guards), { prefix: `${base}/rooms` });
    await api.register(sourceRoutes(services.source, guards), { prefix: `${base}/rooms` });
    await api.register(roleRoutes(services.roles, realtime.lifecycle, guards), { prefix: `${base}/rooms` });
    await api.register(persistenceRoutes(services.persistence, guards), { prefix: `${base}/rooms` });
    await api.register(inviteRoutes(services.invites, guards), { prefix: `${base}/rooms` });
    await api.register(queueRoutes(services.queue, guards), { prefix: `${base}/rooms` });
    await api.register(bufferingRoutes(services.buffering, guards), { prefix: `${base}/rooms` });
    await api.register(progressRoutes(services.progress, guards, { limiter, codeMisses }), { prefix: `${base}/rooms` });
    await api.register(discoveryRoutes({ discovery: services.discovery, providers: services.providers, limiter, guards }), {
      prefix: `${base}/rooms`,
    });
    const admin = { db: database.db, guards, presence: realtime.state.presence, lifecycle: realtime.lifecycle, events: realtime.events };
    await api.register(adminRoutes(admin), { prefix: `${base}/admin` });
  }
}

/** Realtime: one hub with its feature services and hooks, two transports on the same HTTP server. */
function startRealtime(
  http: FastifyInstance,
  config: Config,
  deps: { db: DB; realtime: RealtimeBackends; services: AppServices; limiter: AttemptLimiter; metrics: Registry },
) {
  const { db, realtime, services, limiter, metrics } = deps;
  const { state } = realtime;
  const guard = new ConnectionGuard(limiter, {
    perUser: config.SOCKETS_PER_USER,
    perClient: config.SOCKETS_PER_CLIENT,
    attemptsPerMinute: config.SOCKET_CONNECTS_PER_MINUTE,
  });
  const sync = new SyncTelemetry(state, {
    driftThresholdSeconds: config.DRIFT_THRESHOLD_SECONDS,
    summaryIntervalMs: config.SYNC_SUMMARY_SECONDS * 1000,
    startLead: { floorMs: config.START_LEAD_MIN_MS, maxMs: config.START_LEAD_MAX_MS },
    registry: metrics,
    logger: http.log,
  });
  const startLeadMs = (roomId: string) => sync.startLeadMs(roomId);
  const autoAdvance = new AutoAdvance(services.queue, startLeadMs, (err, roomId) =>
    http.log.warn({ err, room: roomId }, "queue auto-advance failed"),
  );
  const buffering = new BufferingCoordinator({
    db,
    playback: services.playback,
    waits: state.bufferWaits,
    presence: state.presence,
    events: realtime.events,
    policyOf: (roomId) => services.buffering.policyOf(roomId),
    startLeadMs,
    cooldownMs: config.BUFFERING_COOLDOWN_SECONDS * 1000,
    startGraceMs: config.BUFFERING_START_GRACE_MS,
    logger: http.log,
  });
  const hub = new RoomHub(
    { db, state, events: realtime.events, scheduler: realtime.scheduler },
    { ...services, lifecycle: realtime.lifecycle },
    {
      graceSeconds: config.GRACE_PERIOD_SECONDS,
      roster: { pageSize: config.ROSTER_PAGE_SIZE, legacyMax: config.ROSTER_LEGACY_MAX },
      resume: { log: realtime.log, windowMs: config.RESUME_WINDOW_SECONDS * 1000, lingerMs: config.RESUME_LINGER_SECONDS * 1000 },
      recoverLiveRooms: !config.clusterMode,
      logger: http.log,
      guard,
      approvals: new ApprovalWaits(config.APPROVAL_WAIT_SECONDS * 1000),
      hooks: [sync, autoAdvance, buffering],
      meter: new RealtimeMetrics(metrics),
      features: {
        chat: { chat: services.chat, gate: state.chatGate, moderation: services.moderation },
        playback: { playback: services.playback, startLeadMs },
        moderation: { moderation: services.moderation, mutes: state.mutes },
        roles: { roles: services.roles, lifecycle: realtime.lifecycle, persistence: services.persistence },
        progress: { progress: services.progress, queue: services.queue, startLeadMs },
        queue: { queue: services.queue, votes: state.skipVotes, presence: state.presence, startLeadMs },
        reactions: { limiter, mutes: state.mutes },
        party: { party: realtime.parties },
        buffering: { settings: services.buffering },
        sync: { telemetry: sync, buffering, driftThresholdSeconds: config.DRIFT_THRESHOLD_SECONDS },
      },
    },
  );
  const transport = {
    allowedOrigins: config.CORS_ORIGINS,
    trustProxy: config.TRUST_PROXY,
    sendBufferBytes: config.SOCKET_SEND_BUFFER_BYTES,
    guard,
  };
  const rawWs = attachRawWebSocket(http.server, hub, { ...transport, socketIoPath: SOCKET_IO_PATH });
  const socketIo = attachSocketIo(http.server, hub, { ...transport, adapter: realtime.adapter });
  hub.addTransport(rawWs);
  hub.addTransport(socketIo);
  registerRealtimeGauges(metrics, {
    connections: () => ({ ...rawWs.openConnections(), ...socketIo.openConnections() }),
    localRooms: () => hub.roomCodes.length,
    waitingForApproval: () => hub.waitingForApproval,
  });
  http.addHook("preClose", async () => {
    await hub.close();
    rawWs.close();
    await socketIo.close();
  });
  return { hub, io: socketIo.io };
}

export async function buildApp(config: Config): Promise<StreamItApp> {
  // Set when close() begins: /readyz answers 503 `draining` from then on (a load balancer stops sending).
  let shuttingDown = false;
  const http = createHttpServer(config, () => shuttingDown);
  const metrics = new Registry();
  const redisErrors = redisErrorMetrics(metrics);
  const logRedisError = (err: Error) => {
    redisErrors.connectionError();
    http.log.warn({ err: err.message }, "redis error (reconnecting)");
  };
  const { database, redis } = await openStores(config, logRedisError, queryMetrics(metrics));
  const unwatchRedis = redis && redisErrors.watchCommands((id) => id === clientIdOf(redis));
  const requestRedis = redis && withRequestTimeout(redis, config.REDIS_COMMAND_TIMEOUT_MS);
  const limiter: AttemptLimiter = requestRedis ? new RedisLimiter(requestRedis, config.REDIS_PREFIX) : new MemoryLimiter();
  const cache: JsonCache = requestRedis ? new RedisCache(requestRedis, config.REDIS_PREFIX) : new MemoryCache();
  const realtime = await createRealtimeBackends(config, database.db, redis, logRedisError);
  const services = createServices(config, database.db, realtime, limiter, cache, http.log);

  await installHttpBasics(http, config);
  installMetrics(http, metrics, { publicEndpoint: config.METRICS_PORT === undefined });
  await registerApi(http, config, { database, redis, realtime, services, limiter, isShuttingDown: () => shuttingDown });
  const { hub, io } = startRealtime(http, config, { db: database.db, realtime, services, limiter, metrics });
  if (config.ADMIN_USERNAME && config.ADMIN_PASSWORD) {
    await installAdminUi(http, io, {
      username: config.ADMIN_USERNAME,
      password: config.ADMIN_PASSWORD,
      redis: config.clusterMode ? redis : undefined,
      prefix: config.REDIS_PREFIX,
      serverId: String(process.pid),
      mode: config.NODE_ENV === "production" ? "production" : "development",
    });
  }
  // The demo page (packages/demo) at /demo/, with its own CSP: src/http/demo.ts.
  if (config.DEMO_ENABLED) await installDemo(http);
  http.addHook("onClose", async () => {
    await realtime.close();
  });
  await hub.start();
  // Pending parties are scheduled again (timers were lost with the last process; a job is kept).
  await realtime.parties.recover();
  registerRoomStateGauge(metrics, database.db);
  await http.ready();
  const metricsServer = config.METRICS_PORT === undefined ? undefined : await serveMetrics(metrics, config.METRICS_PORT, config.HOST);

  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      shuttingDown = true;
      await http.close();
      await metricsServer?.close();
      unwatchRedis?.();
      if (redis?.isOpen) await redis.quit().catch(() => redis?.destroy());
      await database.close();
    })());

  const { events, state, scheduler, lifecycle, parties } = realtime;
  return {
    config,
    http,
    database,
    redis,
    events,
    realtime: { hub, state, io, scheduler, lifecycle, parties },
    limiter,
    services,
    metrics: { registry: metrics, port: metricsServer?.port },
    close,
  };
}
