/** A tiny HTTP client for tests (real sockets via fetch) and account/room fixtures. */
import { randomBytes } from "node:crypto";

export interface ApiResponse<T = any> {
  status: number;
  body: T;
  text: string;
  headers: Headers;
}

export interface RequestOptions {
  token?: string;
  headers?: Record<string, string>;
  /** Raw body text, sent as is (for malformed-input tests). */
  raw?: string;
  /** Client address the server sees (X-Forwarded-For; the test server trusts the proxy). */
  ip?: string;
}

let ipCounter = 0;
/** A fresh loopback address per call, so per-client budgets do not couple unrelated tests. */
export const nextClientIp = (): string => {
  ipCounter += 1;
  return `127.${(ipCounter >> 16) & 255}.${(ipCounter >> 8) & 255}.${ipCounter & 255}`;
};

export class Api {
  constructor(readonly baseUrl: string) {}

  async request<T = any>(method: string, path: string, body?: unknown, opts: RequestOptions = {}): Promise<ApiResponse<T>> {
    const headers: Record<string, string> = { "x-forwarded-for": opts.ip ?? nextClientIp(), ...opts.headers };
    if (opts.token) headers.authorization = `Bearer ${opts.token}`;
    let payload: string | undefined = opts.raw;
    if (body !== undefined) payload = JSON.stringify(body);
    if (payload !== undefined && !Object.keys(headers).some((h) => h.toLowerCase() === "content-type")) {
      headers["content-type"] = "application/json";
    }
    const res = await fetch(this.baseUrl + path, { method, headers, body: payload });
    const text = await res.text();
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = undefined;
    }
    return { status: res.status, body: parsed as T, text, headers: res.headers };
  }

  get<T = any>(path: string, opts?: RequestOptions) {
    return this.request<T>("GET", path, undefined, opts);
  }

  post<T = any>(path: string, body?: unknown, opts?: RequestOptions) {
    return this.request<T>("POST", path, body, opts);
  }

  // ---- fixtures ------------------------------------------------------------------------

  async register(name = `user${randomBytes(3).toString("hex")}`, extra: Record<string, unknown> = {}) {
    const email = `${name.toLowerCase()}@example.com`;
    const res = await this.post("/api/auth/register/", {
      email,
      password: "correct horse battery",
      display_name: name,
      ...extra,
    });
    if (res.status !== 201) throw new Error(`register failed: ${res.status} ${res.text}`);
    return { ...res.body, email, password: "correct horse battery", token: res.body.access_token as string };
  }

  async guest(displayName = "Guest") {
    const res = await this.post("/api/auth/guest/", { display_name: displayName });
    if (res.status !== 200) throw new Error(`guest failed: ${res.status} ${res.text}`);
    return { ...res.body, token: res.body.access_token as string };
  }

  async createRoom(token: string, body: Record<string, unknown> = { is_private: false }) {
    const res = await this.post("/api/rooms/create/", body, { token });
    if (res.status !== 201) throw new Error(`create failed: ${res.status} ${res.text}`);
    return res.body as { room_id: string; code: string; is_private: boolean; entry_mode: string | null; room_password?: string };
  }

  async join(token: string, code: string, password?: string) {
    return this.post("/api/rooms/join/", password === undefined ? { code } : { code, password }, { token });
  }
}
