/**
 * The REST side of the demo (docs/api.md): a sign-in (guest, or an account, which hosting needs)
 * kept in sessionStorage (one per tab, so two tabs can be two people), fresh access tokens for the SDK's `getToken`, and the room
 * calls. Errors come back as ApiError with the server's code and message.
 */
import { jwtExpiry } from "@streamit/client";
import type { MediaCapabilities } from "@streamit/protocol";

export class ApiError extends Error {
  override readonly name = "ApiError";

  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    /** Seconds, from a 429's Retry-After. */
    readonly retryAfter?: number,
  ) {
    super(message);
  }
}

export interface Account {
  id: string;
  display_name: string;
  /** Guests may join rooms but not host one. */
  is_guest: boolean;
}

interface Session extends Account {
  access_token: string;
  refresh_token: string;
}

export interface CreatedRoom {
  room_id: string;
  code: string;
  is_private: boolean;
  entry_mode: "APPROVAL" | "PASSWORD" | null;
  room_password?: string;
}

export interface JoinAnswer {
  room_id: string;
  code: string;
  status: "PENDING" | "APPROVED";
  is_host: boolean;
}

/** The parts of `GET /api/rooms/<code>/detail/` the page uses, for an approved participant. */
export interface RoomDetail {
  participant_status: "APPROVED";
  room_id: string;
  code: string;
  host: string;
  host_id: string;
  video_provider: string;
  video_id: string;
  embed_url: string | null;
  title?: string | null;
  capabilities?: MediaCapabilities | null;
  state: "CREATED" | "LIVE" | "GRACE" | "RESTING" | "EXPIRED" | "DELETED";
  /** The room rests instead of expiring when its host stays away (SET_PERSISTENT). */
  is_persistent?: boolean;
  is_host: boolean;
  is_cohost: boolean;
  cohosts_control_playback: boolean;
}

/** The same answer for a user still waiting for approval: whose room, how it admits. */
export interface WaitingDetail {
  participant_status: "PENDING";
  room_id: string;
  code: string;
  host: string;
  entry_mode: string | null;
  is_private: boolean;
  state: string;
}

export type EntryMode = "public" | "password" | "approval";

const STORAGE_KEY = "streamit-demo:session";
/** A token with less than this left is renewed first (ms). */
const TOKEN_MARGIN_MS = 60_000;

async function request<T>(method: "GET" | "POST", path: string, body?: unknown, token?: string): Promise<T> {
  const headers: Record<string, string> = {};
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (token) headers.Authorization = `Bearer ${token}`;
  let res: Response;
  try {
    res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch {
    throw new ApiError(0, "NETWORK_ERROR", "The server did not answer (network error).");
  }
  const text = await res.text();
  let data: unknown = {};
  try {
    data = text ? JSON.parse(text) : {};
  } catch {
    // Not JSON (a proxy's error page): the status says enough.
  }
  if (!res.ok) {
    const { error, code } = data as { error?: unknown; code?: unknown };
    const retryAfter = Number(res.headers.get("Retry-After"));
    throw new ApiError(
      res.status,
      typeof code === "string" ? code : `HTTP_${res.status}`,
      typeof error === "string" ? error : `${res.status} ${res.statusText}`,
      Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter : undefined,
    );
  }
  return data as T;
}

export class Api {
  private session: Session | undefined = loadSession();
  private refreshing: Promise<string> | undefined;

  get account(): Account | undefined {
    return this.session && { id: this.session.id, display_name: this.session.display_name, is_guest: this.session.is_guest };
  }

  async signInAsGuest(displayName: string): Promise<Account> {
    this.store(await request<Session>("POST", "/api/auth/guest/", { display_name: displayName }));
    return this.account!;
  }

  async logIn(email: string, password: string): Promise<Account> {
    this.store(await request<Session>("POST", "/api/auth/login/", { email, password }));
    return this.account!;
  }

  async register(email: string, password: string, displayName: string): Promise<Account> {
    this.store(await request<Session>("POST", "/api/auth/register/", { email, password, display_name: displayName }));
    return this.account!;
  }

  signOut(): void {
    const session = this.session;
    this.store(undefined);
    if (session) {
      void request("POST", "/api/auth/logout/", { refresh_token: session.refresh_token }, session.access_token).catch(() => {});
    }
  }

  /** An access token with at least a minute left, refreshed (once, for every caller) when needed. */
  token = async (): Promise<string> => {
    const session = this.session;
    if (!session) throw new ApiError(401, "AUTH_REQUIRED", "Not signed in.");
    const expiresAt = jwtExpiry(session.access_token) ?? 0;
    if (expiresAt - Date.now() > TOKEN_MARGIN_MS) return session.access_token;
    this.refreshing ??= this.refresh(session).finally(() => (this.refreshing = undefined));
    return this.refreshing;
  };

  createRoom(mode: EntryMode): Promise<CreatedRoom> {
    const entry_mode = mode === "password" ? "PASSWORD" : mode === "approval" ? "APPROVAL" : null;
    return this.call("POST", "/api/rooms/create/", { is_private: mode !== "public", entry_mode });
  }

  /** Joins by code, with the room's password or an invite token (which admits without either). */
  joinRoom(code: string, password: string | undefined, invite?: string): Promise<JoinAnswer> {
    return this.call("POST", "/api/rooms/join/", { code, ...(password ? { password } : {}), ...(invite ? { invite } : {}) });
  }

  /** The host creates an invite link's token (password and approval rooms; 10 uses, 7 days by default). */
  createInvite(roomId: string): Promise<{ token: string; expires_at: string; max_uses: number }> {
    return this.call("POST", "/api/rooms/invites/", { room_id: roomId });
  }

  roomDetail(code: string): Promise<RoomDetail | WaitingDetail> {
    return this.call("GET", `/api/rooms/${encodeURIComponent(code)}/detail/`);
  }

  /** The host sets the room's media: the `direct` provider plays a media file's URL as it is. */
  setDirectSource(roomId: string, url: string): Promise<unknown> {
    return this.call("POST", "/api/rooms/source/", { room_id: roomId, provider: "direct", video_id: url, media_type: "movie" });
  }

  approve(roomId: string, userId: string): Promise<unknown> {
    return this.call("POST", "/api/rooms/approve/", { room_id: roomId, user_id: userId });
  }

  reject(roomId: string, userId: string): Promise<unknown> {
    return this.call("POST", "/api/rooms/reject/", { room_id: roomId, user_id: userId });
  }

  private async call<T>(method: "GET" | "POST", path: string, body?: unknown): Promise<T> {
    return request<T>(method, path, body ?? (method === "POST" ? {} : undefined), await this.token());
  }

  private async refresh(session: Session): Promise<string> {
    try {
      const answer = await request<Session>("POST", "/api/auth/refresh/", { refresh_token: session.refresh_token });
      this.store(answer);
      return answer.access_token;
    } catch (err) {
      // A spent or revoked refresh token will not work again: sign in anew.
      if (err instanceof ApiError && err.status === 401) this.store(undefined);
      throw err;
    }
  }

  private store(session: Session | undefined): void {
    this.session = session && {
      id: session.id,
      display_name: session.display_name,
      is_guest: session.is_guest,
      access_token: session.access_token,
      refresh_token: session.refresh_token,
    };
    try {
      if (this.session) sessionStorage.setItem(STORAGE_KEY, JSON.stringify(this.session));
      else sessionStorage.removeItem(STORAGE_KEY);
    } catch {
      // Storage may be off (private mode): the sign-in then lasts as long as the page.
    }
  }
}

function loadSession(): Session | undefined {
  try {
    const raw = sessionStorage.getItem(STORAGE_KEY);
    const parsed = raw ? (JSON.parse(raw) as Partial<Session>) : undefined;
    if (parsed?.id && parsed.display_name && typeof parsed.is_guest === "boolean" && parsed.access_token && parsed.refresh_token) {
      return parsed as Session;
    }
  } catch {
    // Unreadable: start signed out.
  }
  return undefined;
}
