/**
 * The host, driven from Node: the playback script every client kind is measured on. PLAY at 0,
 * steady playing, SEEK forward, PAUSE, PLAY, then SET_RATE 1.5 when the server knows it (it is
 * being added; an answer of VALIDATION_FAILED or UNKNOWN_EVENT skips that phase). The holds
 * are the phases the metrics look at, not waits for something: `scale` shrinks them all.
 */
import type { Socket } from "socket.io-client";
import type { PlaybackState } from "./intended.js";
import { connectMember } from "./room.js";

/** Seconds of each phase at scale 1. */
export const PHASES = { steady: 15, afterSeek: 8, paused: 3, afterResume: 8, atRate: 8 };
const SEEK_FORWARD_SECONDS = 30;
const RATE = 1.5;
const ACK_TIMEOUT_MS = 10_000;

interface Ack {
  ok: boolean;
  error?: { code: string; message: string };
}

export interface ScriptResult {
  /** True epoch ms of the first command and of the end of the last phase. */
  startedAt: number;
  endedAt: number;
  rateApplied: boolean;
  notes: string[];
}

export async function runHostScript(baseUrl: string, code: string, token: string, scale: number): Promise<ScriptResult> {
  let state: PlaybackState | undefined;
  const host = await connectMember(baseUrl, code, token, (socket) => socket.on("PLAYBACK_STATE", (s: PlaybackState) => (state = s)));
  const notes: string[] = [];
  // The host's view of the position now: its latest state, extrapolated like the server does.
  const position = () => (state!.is_playing ? state!.time + ((Date.now() - state!.server_time) / 1000) * state!.rate : state!.time);
  const hold = (seconds: number) => new Promise((resolve) => setTimeout(resolve, seconds * scale * 1000));
  try {
    const startedAt = Date.now();
    await command(host, "PLAY", { time: 0 });
    await hold(PHASES.steady);
    await command(host, "SEEK", { time: position() + SEEK_FORWARD_SECONDS });
    await hold(PHASES.afterSeek);
    await command(host, "PAUSE", { time: position() });
    await hold(PHASES.paused);
    await command(host, "PLAY", { time: position() });
    await hold(PHASES.afterResume);
    const rate = await send(host, "SET_RATE", { rate: RATE });
    if (rate.ok) await hold(PHASES.atRate);
    else notes.push(`SET_RATE skipped: ${rate.error?.code} ${rate.error?.message ?? ""}`.trim());
    return { startedAt, endedAt: Date.now(), rateApplied: rate.ok, notes };
  } finally {
    host.close();
  }
}

async function send(host: Socket, type: string, payload: object): Promise<Ack> {
  try {
    return (await host.timeout(ACK_TIMEOUT_MS).emitWithAck(type, payload)) as Ack;
  } catch {
    return { ok: false, error: { code: "TIMEOUT", message: `no ack within ${ACK_TIMEOUT_MS} ms` } };
  }
}

async function command(host: Socket, type: string, payload: object): Promise<void> {
  const ack = await send(host, type, payload);
  if (!ack.ok) throw new Error(`${type} ${JSON.stringify(payload)} refused: ${ack.error?.code} ${ack.error?.message}`);
}
