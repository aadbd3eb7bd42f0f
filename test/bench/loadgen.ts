/**
 * The load generator: a separate process with real clients (ws, socket.io-client over the
 * websocket transport). It sets a scenario up over REST, runs it, prints progress on stderr and
 * one JSON result line on stdout. Usage: loadgen.ts '<json options>'.
 */
import { monitorEventLoopDelay, performance } from "node:perf_hooks";
import { io, type Socket } from "socket.io-client";
import WebSocket from "ws";
import { processUsage } from "./proc.js";

export interface LoadOptions {
  scenario: "fanout" | "join-storm" | "chat" | "capacity";
  target: "streamit" | "ws-baseline" | "sio-baseline";
  transport: "ws" | "sio";
  /** The web processes under test; viewers are spread over them, setup and the host use the first. */
  baseUrls: string[];
  /** Their pids, for memory readings from /proc (same machine). */
  serverPids?: number[];
  /** Signal the servers (SIGUSR2, see profiler.ts) around the measured phase. */
  profile?: boolean;
  viewers?: number;
  commands?: number;
  ratePerSecond?: number;
  rooms?: number;
  usersPerRoom?: number;
  durationSeconds?: number;
  /** fanout: every viewer also sends SYNC_REPORT every 2 s while commands run (sync telemetry). */
  syncReports?: boolean;
  /** chat: every message carries a command_id (the exactly-once path). */
  commandIds?: boolean;
}

type Handler = (message: { type: string } & Record<string, any>, bytes: number) => void;
interface Client {
  send(message: Record<string, unknown>): void;
  close(): void;
}

/**
 * Connections the server ended before the load generator closed them, by close code (raw) or
 * disconnect reason (Socket.IO): a viewer that silently received nothing shows up here.
 */
const serverClosed: Record<string, number> = {};
const noteServerClose = (why: string | number) => {
  serverClosed[why] = (serverClosed[why] ?? 0) + 1;
};

let ipCounter = 0;
const nextIp = () => {
  ipCounter += 1;
  return `127.${(ipCounter >> 16) & 255}.${(ipCounter >> 8) & 255}.${ipCounter & 255}`;
};

async function post(baseUrl: string, path: string, body: unknown, token?: string): Promise<any> {
  const res = await fetch(baseUrl + path, {
    method: "POST",
    headers: { "content-type": "application/json", "x-forwarded-for": nextIp(), ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`);
  return res.json();
}

async function inBatches<T>(count: number, size: number, make: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = [];
  for (let start = 0; start < count; start += size) {
    out.push(...(await Promise.all(Array.from({ length: Math.min(size, count - start) }, (_, k) => make(start + k)))));
  }
  return out;
}

/** Starts, then stops, the servers' CPU profilers (when profiling). */
function toggleProfilers(o: LoadOptions): void {
  if (o.profile) for (const pid of o.serverPids ?? []) process.kill(pid, "SIGUSR2");
}

const progress = (text: string) => process.stderr.write(`\r  ${text}`.padEnd(70));

function connect(
  o: LoadOptions,
  roomCode: string,
  token: string | null,
  onMessage: Handler,
  via = 0,
  transport = o.transport,
): Promise<Client> {
  const baseUrl = o.baseUrls[via % o.baseUrls.length]!;
  return new Promise((resolve, reject) => {
    if (transport === "ws") {
      const path = o.target === "streamit" ? `/ws/room/${roomCode}/?token=${token}` : `/room/${roomCode}`;
      const ws = new WebSocket(baseUrl.replace(/^http/, "ws") + path, { perMessageDeflate: false });
      ws.on("message", (data) => {
        const text = data.toString();
        // Rosters are big and only their size and head count matter here: skip the full parse.
        const roster = text.startsWith('{"type":"ROOM_PARTICIPANTS"') ? /"online":(\d+)/.exec(text) : null;
        onMessage(roster ? { type: "ROOM_PARTICIPANTS", online: Number(roster[1]) } : JSON.parse(text), Buffer.byteLength(text));
      });
      let closing = false;
      ws.once("close", (code) => closing || noteServerClose(code));
      ws.once("open", () =>
        resolve({
          send: (m) => ws.send(JSON.stringify(m)),
          close: () => {
            closing = true;
            ws.close();
          },
        }),
      );
      ws.once("error", reject);
    } else {
      const socket: Socket = io(`${baseUrl}/room/${roomCode}`, {
        transports: ["websocket"],
        forceNew: true,
        reconnection: false,
        auth: token ? { token } : {},
      });
      // The server says why (CLOSE {code}) before it disconnects a socket.
      let closeCode: number | undefined;
      socket.onAny((event: string, message: any) => {
        if (event === "CLOSE") closeCode = message?.code;
        onMessage({ ...message, type: event }, JSON.stringify(message).length);
      });
      socket.once("disconnect", (reason) => reason === "io client disconnect" || noteServerClose(closeCode ?? reason));
      socket.once("connect", () =>
        resolve({
          send: ({ type, ...payload }) => socket.emit(type as string, payload),
          close: () => socket.disconnect(),
        }),
      );
      socket.once("connect_error", reject);
    }
  });
}

/** A StreamIt room with a registered host and `guests` approved guests. */
async function streamitRoom(baseUrl: string, guests: number) {
  const host = await post(baseUrl, "/api/auth/register/", {
    email: `bench-${Date.now()}-${Math.random().toString(36).slice(2)}@example.com`,
    password: "bench passphrase 123",
    display_name: "BenchHost",
  });
  const room = await post(baseUrl, "/api/rooms/create/", { is_private: false }, host.access_token);
  const tokens = await inBatches(guests, 50, async (i) => {
    const guest = await post(baseUrl, "/api/auth/guest/", { display_name: `viewer${i}` });
    await post(baseUrl, "/api/rooms/join/", { code: room.code }, guest.access_token);
    return guest.access_token as string;
  });
  return { code: room.code as string, hostToken: host.access_token as string, tokens };
}

function summarize(samples: number[]) {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]! : Number.NaN);
  const round = (v: number) => Math.round(v * 100) / 100;
  return { count: sorted.length, p50: round(at(0.5)), p95: round(at(0.95)), p99: round(at(0.99)), max: round(sorted.at(-1) ?? Number.NaN) };
}

const SYNC_REPORT_EVERY_MS = 2000;

/** Longer than the server's longest pause between two rosters of a room (ROSTER_PACING.maxPauseMs). */
const ROSTER_QUIET_MS = 5500;

async function fanout(o: LoadOptions) {
  const n = o.viewers ?? 1000;
  const commands = o.commands ?? 50;
  const rate = o.ratePerSecond ?? 5;
  const streamit = o.target === "streamit";
  const setup = streamit
    ? await streamitRoom(o.baseUrls[0]!, n)
    : { code: "bench", hostToken: null, tokens: Array.from({ length: n }, () => null) };
  const sentAt = new Map<number, number>();
  const latencies: number[] = [];
  let joined = 0;
  /** Viewers that have seen the whole room online. */
  const settledViewers = new Set<number>();
  let lastRosterAt = 0;
  let lateRosters = 0;
  const viewers = await inBatches(n, 100, async (i) => {
    const client = await connect(
      o,
      setup.code,
      setup.tokens[i] ?? null,
      (m) => {
        const key = streamit ? (m.type === "PLAYBACK_STATE" ? m.version : undefined) : m.seq;
        if (m.type === "ROOM_PARTICIPANTS") lastRosterAt = performance.now();
        if (m.type === "ROOM_PARTICIPANTS" && m.online === n + 1) settledViewers.add(i);
        if (m.type === "ROOM_PARTICIPANTS" && sentAt.size > 0) lateRosters += 1;
        if (m.type === "ROOM_PARTICIPANTS" || (!streamit && m.type === "HELLO")) return;
        if (typeof key === "number" && sentAt.has(key)) latencies.push(performance.now() - sentAt.get(key)!);
      },
      i,
    );
    joined += 1;
    if (joined % 100 === 0) progress(`fanout: ${joined}/${n} viewers connected`);
    return client;
  });
  const host = await connect(o, setup.code, setup.hostToken, () => {});
  // Join traffic (paced rosters) settles first: every viewer has seen the full room online, and
  // no roster has arrived for longer than the server's longest roster pause (5 s), so that the
  // measured phase is playback alone.
  const settleBy = Date.now() + 45_000;
  const settleStarted = performance.now();
  const quiet = () => performance.now() - lastRosterAt > ROSTER_QUIET_MS;
  while (streamit && (settledViewers.size < n || !quiet()) && Date.now() < settleBy) await new Promise((r) => setTimeout(r, 50));
  const settled = settledViewers.size;
  const settleSeconds = Math.round((performance.now() - settleStarted) / 100) / 10;
  await new Promise((r) => setTimeout(r, 1000));
  // The load generator's own garbage (1,000 parsed rosters) must not pause it mid-measurement.
  globalThis.gc?.();
  const loop = monitorEventLoopDelay({ resolution: 10 });
  loop.enable();
  if (streamit) await scrape(o); // resets the server's event-loop histogram
  toggleProfilers(o);
  const started = performance.now();
  // Sync telemetry load: each viewer reports every 2 s, the viewers spread over those 2 s.
  let reports = 0;
  const reporters = o.syncReports
    ? viewers.map((client, i) => {
        const report = () => {
          reports += 1;
          client.send({ type: "SYNC_REPORT", position: (performance.now() - started) / 1000, rtt_ms: 20, buffering: false });
        };
        let interval: NodeJS.Timeout | undefined;
        const first = setTimeout(
          () => {
            report();
            interval = setInterval(report, SYNC_REPORT_EVERY_MS);
          },
          (i * SYNC_REPORT_EVERY_MS) / viewers.length,
        );
        return () => {
          clearTimeout(first);
          clearInterval(interval);
        };
      })
    : [];
  for (let k = 1; k <= commands; k += 1) {
    sentAt.set(k, performance.now());
    host.send(streamit ? { type: k % 2 ? "PLAY" : "SEEK", time: k } : { type: "PLAY", time: k, seq: k });
    progress(`fanout: command ${k}/${commands}, deliveries ${latencies.length}`);
    await new Promise((r) => setTimeout(r, 1000 / rate));
  }
  for (const stop of reporters) stop();
  const deadline = Date.now() + 10_000;
  while (latencies.length < n * commands && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  const seconds = (performance.now() - started) / 1000;
  toggleProfilers(o);
  loop.disable();
  const serverLoop = streamit ? await scrape(o) : {};
  for (const c of [...viewers, host]) c.close();
  return {
    clients: n,
    expected: n * commands,
    ...summarize(latencies),
    throughput: Math.round(latencies.length / seconds),
    loadgenLoopMaxMs: loopDelayMs(loop.max / 1e9),
    ...(o.syncReports ? { syncReports: reports } : {}),
    ...(streamit ? { settleSeconds, settled, lateRosters, serverLoopMaxMs: loopDelayMs(serverLoop.nodejs_eventloop_lag_max_seconds) } : {}),
  };
}

async function joinStorm(o: LoadOptions) {
  const n = o.viewers ?? 1000;
  const setup = await streamitRoom(o.baseUrls[0]!, n);
  const host = await connect(o, setup.code, setup.hostToken, () => {});
  let rosterBytes = 0;
  let rosterMessages = 0;
  const times: number[] = [];
  toggleProfilers(o);
  const started = performance.now();
  let done = 0;
  const clients = await Promise.all(
    setup.tokens.map((token) => {
      const begin = performance.now();
      let seen = 0;
      return connect(o, setup.code, token, (m, bytes) => {
        if (m.type === "ROOM_PARTICIPANTS") {
          rosterBytes += bytes;
          rosterMessages += 1;
        }
        if ((m.type === "CHAT_HISTORY" || m.type === "PLAYBACK_STATE" || m.type === "ROOM_PARTICIPANTS") && ++seen === 3) {
          times.push(performance.now() - begin);
          done += 1;
          if (done % 50 === 0) progress(`join-storm: ${done}/${n} joined`);
        }
      });
    }),
  );
  const deadline = Date.now() + 60_000;
  while (times.length < n && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  const total = (performance.now() - started) / 1000;
  toggleProfilers(o);
  await new Promise((r) => setTimeout(r, 500));
  for (const c of [...clients, host]) c.close();
  return {
    clients: n,
    ...summarize(times),
    totalSeconds: Math.round(total * 100) / 100,
    rosterMessages,
    rosterBytes,
    rosterBytesPerJoiner: Math.round(rosterBytes / n),
  };
}

async function chat(o: LoadOptions) {
  const roomCount = o.rooms ?? 50;
  const perRoom = o.usersPerRoom ?? 20;
  const duration = o.durationSeconds ?? 30;
  const rooms = await inBatches(roomCount, 5, () => streamitRoom(o.baseUrls[0]!, perRoom - 1));
  const sentAt = new Map<string, number>();
  const received = new Map<string, number>();
  const latencies: number[] = [];
  const acked = new Set<string>();
  let connected = 0;
  const members = await inBatches(roomCount, 5, async (r) => {
    const room = rooms[r]!;
    return Promise.all(
      [room.hostToken, ...room.tokens].map(async (token, u) => {
        const me = `r${r}u${u}`;
        const client = await connect(o, room.code, token, (m) => {
          if (m.type !== "CHAT_MESSAGE") return;
          const at = sentAt.get(m.message);
          if (at !== undefined) latencies.push(performance.now() - at);
          received.set(m.message, (received.get(m.message) ?? 0) + 1);
          if (m.message.startsWith(`${me}:`)) acked.add(m.message);
        });
        connected += 1;
        if (connected % 100 === 0) progress(`chat: ${connected}/${roomCount * perRoom} connected`);
        return { client, me };
      }),
    );
  });
  const everyone = members.flat();
  toggleProfilers(o);
  const started = performance.now();
  for (let second = 0; second < duration; second += 1) {
    everyone.forEach(({ client, me }, i) => {
      setTimeout(
        () => {
          const text = `${me}:${second}`;
          sentAt.set(text, performance.now());
          client.send({ type: "CHAT_MESSAGE", message: text, ...(o.commandIds ? { command_id: `c${second}` } : {}) });
        },
        (i * 1000) / everyone.length,
      );
    });
    await new Promise((r) => setTimeout(r, 1000));
    progress(`chat: ${second + 1}/${duration} s, deliveries ${latencies.length}`);
  }
  await new Promise((r) => setTimeout(r, 3000));
  const seconds = (performance.now() - started) / 1000;
  toggleProfilers(o);
  const lost = [...acked].filter((text) => (received.get(text) ?? 0) < perRoom).length;
  for (const { client } of everyone) client.close();
  return {
    clients: everyone.length,
    sent: sentAt.size,
    acked: acked.size,
    lostAcked: lost,
    ...summarize(latencies),
    throughput: Math.round(latencies.length / seconds),
  };
}

/** Resident memory (bytes) and CPU seconds of the servers under test, summed. */
const serverRss = (o: LoadOptions) => (o.serverPids ?? []).reduce((sum, pid) => sum + processUsage(pid).rssBytes, 0);
const serverCpuSeconds = (o: LoadOptions) => (o.serverPids ?? []).reduce((sum, pid) => sum + processUsage(pid).cpuSeconds, 0);

/** Reads Prometheus gauges of the first server; scraping also resets its event-loop histogram. */
async function scrape(o: LoadOptions): Promise<Record<string, number>> {
  const text = await (await fetch(`${o.baseUrls[0]}/metrics`)).text();
  const out: Record<string, number> = {};
  for (const match of text.matchAll(/^(nodejs_eventloop_lag_(?:p50|p99|max)_seconds|nodejs_heap_size_used_bytes) ([\d.e+-]+)$/gm)) {
    out[match[1]!] = Number(match[2]);
  }
  return out;
}

/**
 * prom-client samples the loop with a 10 ms timer and records each tick's full interval, so an
 * idle loop reads 10 ms: the delay is what exceeds it.
 */
const loopDelayMs = (seconds: number | undefined) => Math.max(0, Math.round(((seconds ?? Number.NaN) * 1000 - 10) * 10) / 10);

/**
 * 10,000 mostly idle viewers: `rooms` rooms of `usersPerRoom` (a host and viewers; even rooms on
 * raw WebSocket, odd ones on Socket.IO), each host sending a playback command every 5 s, spread
 * over the period. Memory per connection, event-loop delay, CPU and delivery latency.
 */
async function capacity(o: LoadOptions) {
  const roomCount = o.rooms ?? 100;
  const perRoom = o.usersPerRoom ?? 100;
  const duration = o.durationSeconds ?? 30;
  const rooms = await inBatches(roomCount, 4, async (r) => {
    const room = await streamitRoom(o.baseUrls[0]!, perRoom - 1);
    progress(`capacity: ${r + 1}/${roomCount} rooms set up`);
    return room;
  });
  await new Promise((r) => setTimeout(r, 2000));
  const rssBefore = serverRss(o);
  const sentAt = new Map<string, number>();
  const latencies: number[] = [];
  let connected = 0;
  const connectStarted = performance.now();
  const hosts: Client[] = [];
  const clients: Client[] = [];
  for (let r = 0; r < roomCount; r += 1) {
    const room = rooms[r]!;
    const transport = r % 2 === 0 ? "ws" : "sio";
    const members = await inBatches(perRoom - 1, 100, (u) =>
      connect(
        o,
        room.code,
        room.tokens[u]!,
        (m) => {
          if (m.type !== "PLAYBACK_STATE") return;
          const at = sentAt.get(`${r}:${m.version}`);
          if (at !== undefined) latencies.push(performance.now() - at);
        },
        u,
        transport,
      ),
    );
    clients.push(...members);
    hosts.push(await connect(o, room.code, room.hostToken, () => {}, 0, transport));
    connected += perRoom;
    progress(`capacity: ${connected}/${roomCount * perRoom} connected`);
  }
  const connectSeconds = (performance.now() - connectStarted) / 1000;
  await new Promise((r) => setTimeout(r, 8000)); // paced rosters settle
  const rssConnected = serverRss(o);
  const heap = await scrape(o); // also resets the event-loop delay histogram
  const cpuBefore = serverCpuSeconds(o);
  let peakRss = rssConnected;
  toggleProfilers(o);
  const started = performance.now();
  const timers: NodeJS.Timeout[] = [];
  let commands = 0;
  for (let r = 0; r < roomCount; r += 1) {
    let k = 0;
    const send = () => {
      k += 1;
      commands += 1;
      sentAt.set(`${r}:${k}`, performance.now());
      hosts[r]!.send(k % 2 ? { type: "PLAY", time: k } : { type: "SEEK", time: k });
    };
    timers.push(
      setTimeout(
        () => {
          send();
          timers.push(setInterval(send, 5000));
        },
        (r * 5000) / roomCount,
      ),
    );
  }
  for (let second = 0; second < duration; second += 1) {
    await new Promise((r) => setTimeout(r, 1000));
    peakRss = Math.max(peakRss, serverRss(o));
    progress(`capacity: ${second + 1}/${duration} s, ${commands} commands, deliveries ${latencies.length}`);
  }
  for (const t of timers) clearTimeout(t);
  const cpuSeconds = serverCpuSeconds(o) - cpuBefore;
  const seconds = (performance.now() - started) / 1000;
  toggleProfilers(o);
  await new Promise((r) => setTimeout(r, 1000)); // the last commands land
  const loop = await scrape(o);
  for (const c of [...clients, ...hosts]) c.close();
  const mb = (bytes: number) => Math.round(bytes / 2 ** 20);
  return {
    clients: roomCount * perRoom,
    expected: commands * (perRoom - 1),
    ...summarize(latencies),
    throughput: Math.round(latencies.length / seconds),
    connectSeconds: Math.round(connectSeconds * 10) / 10,
    rssBeforeMb: mb(rssBefore),
    rssConnectedMb: mb(rssConnected),
    rssPeakMb: mb(peakRss),
    bytesPerConnection: Math.round((rssConnected - rssBefore) / (roomCount * perRoom)),
    heapUsedMb: mb(heap.nodejs_heap_size_used_bytes ?? Number.NaN),
    eventLoopP50Ms: loopDelayMs(loop.nodejs_eventloop_lag_p50_seconds),
    eventLoopP99Ms: loopDelayMs(loop.nodejs_eventloop_lag_p99_seconds),
    eventLoopMaxMs: loopDelayMs(loop.nodejs_eventloop_lag_max_seconds),
    cpuPercent: Math.round((cpuSeconds / seconds) * 100),
  };
}

const options = JSON.parse(process.argv[2]!) as LoadOptions;
const run = { fanout, "join-storm": joinStorm, chat, capacity }[options.scenario];
run(options).then(
  (result) => {
    process.stderr.write("\n");
    const closedByServer = Object.values(serverClosed).reduce((a, b) => a + b, 0);
    if (closedByServer) process.stderr.write(`  closed by the server: ${JSON.stringify(serverClosed)}\n`);
    // 1011 (internal error) is never a documented answer: the run is invalid, loudly.
    const internalErrors = serverClosed["1011"] ?? 0;
    console.log(JSON.stringify({ ...result, closedByServer, closed1011: internalErrors }));
    if (internalErrors) process.stderr.write(`\n  FAILED: ${internalErrors} client(s) were closed with 1011 (internal error)\n`);
    process.exit(internalErrors ? 3 : 0);
  },
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
