/**
 * What the samples say, against the intended timeline: drift during steady playing, how far
 * apart viewers start after a PLAY, how long until all agree again after a SEEK or a rate
 * change, and how often pages adjust their players when nothing happened in the room.
 * All times are true epoch ms; drift is the player's position minus the intended one.
 */
import type { IntendedTimeline, Segment } from "./intended.js";
import type { PlayerEvent, Sample } from "./sampler.js";

export interface ViewerTrace {
  name: string;
  samples: Sample[];
  events: PlayerEvent[];
}

/** A transition's convergence: when every viewer was within `withinMs` for good; null = never. */
export interface Convergence {
  ms: number | null;
  withinMs: number;
}

export interface ViewerMetrics {
  name: string;
  steadySamples: number;
  /** Signed median drift (ms; negative = behind). */
  driftMedianMs: number;
  driftP95Ms: number;
  /** Start after each PLAY, ms after the intended start. */
  startLagsMs: number[];
  corrections: number;
}

export interface SyncMetrics {
  steadySamples: number;
  driftP50Ms: number;
  driftP95Ms: number;
  driftP99Ms: number;
  driftMaxMs: number;
  /** The same p95 over steady samples at rate 1 only (a client that ignores rate shows here). */
  driftP95Rate1Ms: number;
  /** max − min of the viewers' start times, per PLAY in order. */
  startSpreadsMs: number[];
  seek: Convergence[];
  rate: Convergence[];
  /** Seeks and rate changes pages applied outside the settle window after a transition, per viewer-minute. */
  correctionsPerMinute: number;
  viewers: ViewerMetrics[];
}

/** Samples and events this soon after a transition belong to the transition, not the steady state. */
export const SETTLE_MS = 1500;
const CONVERGENCE_THRESHOLDS_MS = [50, 100];
/** Position gained between two samples (seconds) that counts as advancing, not noise. */
const ADVANCING = 0.005;

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

const round = (ms: number) => Math.round(ms * 10) / 10;

export function analyze(timeline: IntendedTimeline, traces: ViewerTrace[], window: { from: number; to: number }): SyncMetrics {
  const transitions = timeline.transitions().filter((t) => t.from >= window.from && t.from <= window.to);
  const inWindow = (t: number) => t >= window.from && t <= window.to;
  const drift = (s: Sample) => (s.currentTime - timeline.positionAt(s.realMs)!) * 1000;
  const steady = (s: Sample) => {
    const segment = timeline.segmentAt(s.realMs);
    return inWindow(s.realMs) && segment?.state.is_playing === true && s.realMs - segment.from >= SETTLE_MS;
  };
  const settling = (t: number) => transitions.some((tr) => t >= tr.from && t < tr.from + SETTLE_MS);

  const all: number[] = [];
  const atRate1: number[] = [];
  const viewers = traces.map((trace): ViewerMetrics => {
    const signed: number[] = [];
    for (const s of trace.samples.filter(steady)) {
      const d = drift(s);
      signed.push(d);
      all.push(Math.abs(d));
      if (timeline.segmentAt(s.realMs)!.state.rate === 1) atRate1.push(Math.abs(d));
    }
    return {
      name: trace.name,
      steadySamples: signed.length,
      driftMedianMs: round(percentile(signed, 50)),
      driftP95Ms: round(percentile(signed.map(Math.abs), 95)),
      startLagsMs: transitions.filter((t) => t.changes.includes("play")).map((t) => round(startOf(trace.samples, t, timeline) - t.from)),
      corrections: trace.events.filter((e) => inWindow(e.realMs) && !settling(e.realMs)).length,
    };
  });

  const startSpreadsMs = transitions
    .filter((t) => t.changes.includes("play"))
    .map((t) => {
      const starts = traces.map((trace) => startOf(trace.samples, t, timeline));
      return round(Math.max(...starts) - Math.min(...starts));
    });
  const converge = (change: "seek" | "rate") =>
    transitions.filter((t) => t.changes.includes(change)).map((t) => convergence(timeline, traces, t, window.to));
  const minutes = (window.to - window.from) / 60_000;
  return {
    steadySamples: all.length,
    driftP50Ms: round(percentile(all, 50)),
    driftP95Ms: round(percentile(all, 95)),
    driftP99Ms: round(percentile(all, 99)),
    driftMaxMs: round(all.length ? Math.max(...all) : Number.NaN),
    driftP95Rate1Ms: round(percentile(atRate1, 95)),
    startSpreadsMs,
    seek: converge("seek"),
    rate: converge("rate"),
    correctionsPerMinute: Math.round((viewers.reduce((n, v) => n + v.corrections, 0) / (traces.length * minutes)) * 100) / 100,
    viewers,
  };
}

/**
 * When a viewer's player started advancing after the PLAY `transition` (NaN if it did not):
 * the first of two consecutive advancing samples, back-dated by what it gained since the
 * sample before at the player's rate, which beats the 100 ms sampling period.
 */
function startOf(samples: Sample[], transition: Segment, timeline: IntendedTimeline): number {
  const from = transition.from - 1000;
  const to = Math.min(timeline.endOf(transition), transition.from + 10_000);
  const gained = (i: number) => samples[i]!.currentTime - samples[i - 1]!.currentTime;
  for (let i = 1; i < samples.length - 1; i += 1) {
    const s = samples[i]!;
    if (samples[i - 1]!.realMs < from) continue;
    if (s.realMs > to) break;
    if (!s.paused && gained(i) > ADVANCING && gained(i + 1) > ADVANCING) {
      const backdated = s.realMs - (gained(i) / (s.playbackRate || 1)) * 1000;
      return Math.max(samples[i - 1]!.realMs, backdated);
    }
  }
  return Number.NaN;
}

/**
 * From `transition` until the next one (or the end), the first moment after which every
 * viewer's drift stays within 50 ms; 100 ms if 50 is never reached; else null at 100.
 */
function convergence(timeline: IntendedTimeline, traces: ViewerTrace[], transition: Segment, end: number): Convergence {
  const until = Math.min(timeline.endOf(transition), end);
  for (const withinMs of CONVERGENCE_THRESHOLDS_MS) {
    let latest = 0;
    for (const trace of traces) {
      const samples = trace.samples.filter((s) => s.realMs >= transition.from && s.realMs < until);
      const lastOff = samples.findLastIndex((s) => Math.abs((s.currentTime - timeline.positionAt(s.realMs)!) * 1000) > withinMs);
      if (samples.length === 0 || lastOff === samples.length - 1) {
        latest = Number.NaN;
        break;
      }
      latest = Math.max(latest, lastOff === -1 ? 0 : samples[lastOff + 1]!.realMs - transition.from);
    }
    if (!Number.isNaN(latest)) return { ms: round(latest), withinMs };
  }
  return { ms: null, withinMs: CONVERGENCE_THRESHOLDS_MS.at(-1)! };
}
