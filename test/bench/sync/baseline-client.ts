/**
 * The baseline client kind: a page script that behaves like the original StreamIt web client,
 * the yardstick the SDK is measured against. It applies every PLAYBACK_STATE the moment it
 * arrives (seek to `time`, then play or pause), with no latency compensation: `server_time`,
 * `effective_at` and `rate` are ignored (the original protocol had no rate, and its client
 * no clock). Every 20 s it sends SYNC_CHECK with its position, and seeks to the time of the
 * SYNC_CORRECTION the server answers when it is off by more than DRIFT_THRESHOLD_SECONDS (2 s).
 *
 * Bundled for the browser (iife, `window.benchClient`); the harness calls `start`.
 */
import { io } from "socket.io-client";
import { findVideo, type StartOptions } from "./page-contract.js";

interface PlaybackState {
  is_playing: boolean;
  time: number;
}

const SYNC_CHECK_MS = 20_000;

/** Joins the room; resolves once the join's PLAYBACK_STATE has been applied. */
export function start(options: StartOptions): Promise<void> {
  const video = findVideo();
  if (!video) return Promise.reject(new Error("the page has no <video>"));
  video.src = options.videoUrl;
  const socket = io(`${options.serverUrl}/room/${options.code}`, { auth: { token: options.token }, transports: ["websocket"] });
  const apply = (state: PlaybackState) => {
    video.currentTime = state.time;
    // play() rejects when a later pause() interrupts it: that is the state wanted, not an error.
    if (state.is_playing) video.play().catch(() => {});
    else video.pause();
  };
  socket.on("PLAYBACK_STATE", apply);
  socket.on("SYNC_CORRECTION", (state: PlaybackState) => {
    video.currentTime = state.time;
  });
  setInterval(() => socket.emit("SYNC_CHECK", { client_time: video.currentTime }), SYNC_CHECK_MS);
  return new Promise((resolve, reject) => {
    socket.once("PLAYBACK_STATE", () => resolve());
    socket.once("connect_error", (error: Error & { data?: unknown }) =>
      reject(new Error(`connect_error ${error.message} ${JSON.stringify(error.data ?? null)}`)),
    );
  });
}
