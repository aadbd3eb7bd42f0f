/**
 * The room the bench plays in, set up over REST (docs/api.md): a registered host (guests may
 * not host a room), a public room, and guests joined to it (the observer and the viewers).
 * Plus a Node Socket.IO member connection, for the host and the observer: they need no browser.
 */
import { io, type Socket } from "socket.io-client";

export interface BenchRoom {
  code: string;
  hostToken: string;
  /** One access token per guest, in the order asked for. */
  guestTokens: string[];
}

async function post(baseUrl: string, path: string, body: unknown, token?: string): Promise<any> {
  const res = await fetch(baseUrl + path, {
    method: "POST",
    headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`);
  return res.json();
}

export async function setupRoom(baseUrl: string, guestNames: string[]): Promise<BenchRoom> {
  const host = await post(baseUrl, "/api/auth/register/", {
    email: `sync-${Date.now()}-${Math.random().toString(36).slice(2)}@example.com`,
    password: "sync bench passphrase",
    display_name: "SyncHost",
  });
  const room = await post(baseUrl, "/api/rooms/create/", { is_private: false }, host.access_token);
  const guestTokens: string[] = [];
  for (const display_name of guestNames) {
    const guest = await post(baseUrl, "/api/auth/guest/", { display_name });
    await post(baseUrl, "/api/rooms/join/", { code: room.code }, guest.access_token);
    guestTokens.push(guest.access_token);
  }
  return { code: room.code, hostToken: host.access_token, guestTokens };
}

/**
 * A member's Socket.IO connection, open once the join's PLAYBACK_STATE arrived. `beforeJoin`
 * registers listeners before connecting, so the join messages themselves are seen.
 */
export function connectMember(
  baseUrl: string,
  code: string,
  token: string,
  beforeJoin: (socket: Socket) => void = () => {},
): Promise<Socket> {
  const socket = io(`${baseUrl}/room/${code}`, { auth: { token }, transports: ["websocket"], reconnection: false });
  beforeJoin(socket);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => fail(new Error("no PLAYBACK_STATE within 15 s of connecting")), 15_000);
    const fail = (error: Error) => {
      clearTimeout(timer);
      socket.close();
      reject(error);
    };
    socket.once("PLAYBACK_STATE", () => {
      clearTimeout(timer);
      resolve(socket);
    });
    socket.once("connect_error", (error: Error & { data?: unknown }) =>
      fail(new Error(`connect_error ${error.message} ${JSON.stringify(error.data ?? null)}`)),
    );
  });
}
