/**
 * The SDK client kind: a viewer page built on `@streamit/client` with its HTML5 `<video>`
 * adapter, as a site embedding StreamIt would write it. Everything that makes it follow the room
 * (the server clock, scheduled starts, the correction ladder, SYNC_REPORT) is the SDK's.
 *
 * Bundled for the browser (iife, `window.benchClient`); the harness calls `start`.
 */
import { connect, Html5Player, type Room } from "../../../packages/client/src/index.js";
import { findVideo, type StartOptions } from "./page-contract.js";

let room: Room | undefined;
const arrivals: { version: number; marginMs: number; errorBoundMs: number }[] = [];

/** Joins the room; resolves once the join's PLAYBACK_STATE is in. */
export function start(options: StartOptions): Promise<void> {
  const video = findVideo();
  if (!video) return Promise.reject(new Error("the page has no <video>"));
  video.src = options.videoUrl;
  const player = new Html5Player(video as unknown as ConstructorParameters<typeof Html5Player>[0]);
  room = connect({ url: options.serverUrl, code: options.code, token: options.token, player });
  // When each state arrived, against the moment it takes effect (server clock, ms): a start
  // that arrives late, or with the clock still unsure, explains a late start.
  room.on("PLAYBACK_STATE", (state) => {
    const now = room!.clock.serverNow();
    arrivals.push({
      version: state.version,
      marginMs: Math.round((state.effective_at ?? state.server_time) - now),
      errorBoundMs: Math.round(room!.clock.errorBound),
    });
  });
  const joined = new Promise<void>((resolve) => {
    const off = room!.on("PLAYBACK_STATE", () => {
      off();
      resolve();
    });
  });
  return room.ready.then(() => joined);
}

/** For the bench's notes: how early each state arrived, and the SDK's own counters. */
export function diagnostics(): string {
  const s = room?.stats;
  const states = arrivals.map((a) => `v${a.version} ${a.marginMs >= 0 ? "+" : ""}${a.marginMs} ms (±${a.errorBoundMs})`).join(", ");
  return `states before their moment: ${states}; seeks ${s?.seeks}, rate changes ${s?.rateChanges}, clock ±${Math.round(s?.errorBound ?? 0)} ms`;
}
