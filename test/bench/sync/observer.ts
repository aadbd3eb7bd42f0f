/**
 * The observer: a member connected straight to the server (no proxy, true clock) that records
 * every PLAYBACK_STATE, from which intended.ts rebuilds where the room meant to be.
 */
import type { Socket } from "socket.io-client";
import type { PlaybackState } from "./intended.js";
import { connectMember } from "./room.js";

export interface ObservedState extends PlaybackState {
  /** True epoch ms the observer got it (for the report; the timeline uses the server's times). */
  receivedAt: number;
}

export interface Observer {
  states: ObservedState[];
  close(): void;
}

export async function observe(baseUrl: string, code: string, token: string): Promise<Observer> {
  const states: ObservedState[] = [];
  const record = (socket: Socket) =>
    socket.on("PLAYBACK_STATE", (state: PlaybackState) => states.push({ ...state, receivedAt: Date.now() }));
  const socket = await connectMember(baseUrl, code, token, record);
  return { states, close: () => socket.close() };
}
