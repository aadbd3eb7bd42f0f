/**
 * The REST side of the watch-party features that have no socket message: joining with an invite,
 * the host's invite links, the room detail (the reduced one a user waiting for approval gets) and
 * the vote-skip threshold. Typed after docs/api.md; a refusal rejects with a RoomError carrying
 * the server's code. Everything else a room does goes through `connect()`.
 *
 *   const rest = new RoomsRest({ url: "https://watch.example", getToken });
 *   const { token } = await rest.createInvite(roomId, { max_uses: 5 });
 */
import type { ErrorCode } from "@streamit/protocol";
import { RoomError } from "./errors.js";

export interface RoomsRestOptions {
  /** The server's base URL (https://watch.example). */
  url: string;
  /** An access token (called before every request, so a provider can renew it). */
  getToken: () => string | Promise<string>;
  /** Another fetch (tests, old runtimes); the global one by default. */
  fetch?: typeof fetch;
}

export interface JoinAnswer {
  room_id: string;
  code: string;
  status: "PENDING" | "APPROVED";
  is_host: boolean;
}

export interface Invite {
  invite_id: string;
  expires_at: string;
  max_uses: number;
  uses: number;
  active: boolean;
  [field: string]: unknown;
}

/** What a user waiting for the host's approval may know of the room. */
export interface WaitingRoomDetail {
  participant_status: "PENDING";
  room_id: string;
  code: string;
  state: string;
  is_active: boolean;
  is_private: boolean;
  entry_mode: "APPROVAL" | "PASSWORD" | null;
  host: string;
  created_at: string;
  is_host: false;
}

/** An approved participant's room detail (the fields of docs/api.md; more may come). */
export interface RoomDetail {
  participant_status: "APPROVED";
  room_id: string;
  code: string;
  state: string;
  host: string;
  host_id: string;
  is_host: boolean;
  is_cohost: boolean;
  [field: string]: unknown;
}

export class RoomsRest {
  private readonly fetch: typeof fetch;

  constructor(private readonly options: RoomsRestOptions) {
    this.fetch = options.fetch ?? ((...args) => globalThis.fetch(...args));
  }

  /** Joins by code: with the room's password, or an invite token (admits without either). */
  join(code: string, entry: { password?: string; invite?: string } = {}): Promise<JoinAnswer> {
    return this.call("POST", "/api/rooms/join/", { code, ...entry });
  }

  /** The room's detail; a user waiting for approval gets the reduced one (`participant_status: "PENDING"`). */
  detail(code: string): Promise<RoomDetail | WaitingRoomDetail> {
    return this.call("GET", `/api/rooms/${encodeURIComponent(code)}/detail/`);
  }

  /** The host creates an invite (password and approval rooms); its `token` is shown only here. */
  createInvite(roomId: string, limits: { max_uses?: number; expires_in_seconds?: number } = {}): Promise<Invite & { token: string }> {
    return this.call("POST", "/api/rooms/invites/", { room_id: roomId, ...limits });
  }

  /** The host lists the room's invites with their uses (never their tokens). */
  invites(roomId: string): Promise<Invite[]> {
    return this.call("GET", `/api/rooms/invites/?room_id=${encodeURIComponent(roomId)}`);
  }

  /** The host revokes an invite: it admits nobody from now on. */
  revokeInvite(roomId: string, inviteId: string): Promise<{ revoked: true; invite: Invite }> {
    return this.call("POST", "/api/rooms/invites/revoke/", { room_id: roomId, invite_id: inviteId });
  }

  /** The host sets the share (%) of online members whose votes skip what plays. */
  setSkipThreshold(roomId: string, percent: number): Promise<{ room_id: string; skip_threshold_percent: number }> {
    return this.call("POST", "/api/rooms/queue/settings/", { room_id: roomId, skip_threshold_percent: percent });
  }

  private async call<T>(method: "GET" | "POST", path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = { authorization: `Bearer ${await this.options.getToken()}` };
    if (body !== undefined) headers["content-type"] = "application/json";
    const res = await this.fetch(new URL(path, this.options.url), {
      method,
      headers,
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const answer = (await res.json().catch(() => ({}))) as Record<string, unknown>;
    if (!res.ok) {
      const code = (typeof answer.code === "string" ? answer.code : "INTERNAL_ERROR") as ErrorCode;
      throw new RoomError(code, typeof answer.error === "string" ? answer.error : `${method} ${path} answered ${res.status}`);
    }
    return answer as T;
  }
}
