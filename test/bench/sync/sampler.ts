/**
 * In the page, every 100 ms: what the player shows, stamped with the TRUE time (the page's Date
 * is skewed on purpose). Also every seek and rate change the page applies to the player, which
 * is how corrections are counted for any client kind without its cooperation. Everything stays
 * in the page until the harness collects it once at the end: a page.evaluate per sample would
 * cost a round trip and disturb what it measures.
 *
 * Bundled for the browser (iife, `window.benchSampler`); the page calls `install()` before the
 * client's script runs.
 */
import { findVideo, type PageVideo, trueNow } from "./page-contract.js";

export interface Sample {
  /** True epoch ms (performance.timeOrigin + performance.now()). */
  realMs: number;
  currentTime: number;
  paused: boolean;
  playbackRate: number;
  readyState: number;
}

export interface PlayerEvent {
  realMs: number;
  type: "seeking" | "ratechange";
  currentTime: number;
  playbackRate: number;
}

export interface Collected {
  samples: Sample[];
  events: PlayerEvent[];
}

const collected: Collected = { samples: [], events: [] };
let watched: PageVideo | undefined;

function watch(video: PageVideo): void {
  watched = video;
  for (const type of ["seeking", "ratechange"] as const) {
    video.addEventListener(type, () =>
      collected.events.push({ realMs: trueNow(), type, currentTime: video.currentTime, playbackRate: video.playbackRate }),
    );
  }
}

export function install(intervalMs = 100): void {
  const tick = () => {
    const video = findVideo();
    if (!video) return;
    if (video !== watched) watch(video);
    collected.samples.push({
      realMs: trueNow(),
      currentTime: video.currentTime,
      paused: video.paused,
      playbackRate: video.playbackRate,
      readyState: video.readyState,
    });
  };
  tick();
  setInterval(tick, intervalMs);
}

export const collect = (): Collected => collected;
