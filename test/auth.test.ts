import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startApp, type TestApp } from "./helpers/app.js";

let t: TestApp;
beforeAll(async () => {
  t = await startApp();
});
afterAll(() => t?.stop());

describe("register", () => {
  it("creates an account and returns the login shape with a refresh token", async () => {
    const res = await t.api.post("/api/auth/register/", {
      email: "Alice@Example.com",
      password: "a long passphrase",
      display_name: "Alice",
    });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ display_name: "Alice", username: "alice", is_guest: false, token_type: "Bearer" });
    expect(res.body.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(res.body.access_token.split(".")).toHaveLength(3);
    expect(res.body.refresh_token.length).toBeGreaterThan(30);
    expect(res.body.expires_in).toBe(3600);
  });

  it("refuses a taken email (case-insensitively) with 409 EMAIL_TAKEN", async () => {
    const res = await t.api.post("/api/auth/register/", { email: "alice@example.COM", password: "another passphrase", display_name: "A2" });
    expect(res.status).toBe(409);
    expect(res.body).toEqual({ error: "Email already registered", code: "EMAIL_TAKEN" });
  });

  it("refuses a taken username with 409 USERNAME_TAKEN and generates unique usernames otherwise", async () => {
    const taken = await t.api.post("/api/auth/register/", {
      email: "x1@example.com",
      password: "yet another one",
      display_name: "X",
      username: "ALICE",
    });
    expect(taken.status).toBe(409);
    expect(taken.body.code).toBe("USERNAME_TAKEN");
    // Same local part, so the generated username gets a random suffix.
    const res = await t.api.post("/api/auth/register/", { email: "alice@other.org", password: "yet another one", display_name: "Al" });
    expect(res.status).toBe(201);
    expect(res.body.username).toMatch(/^alice[0-9a-f]{4}$/);
  });

  it.each([
    ["short", "Password must be at least 8 characters"],
    ["password123", "Password is too common"],
    ["aaaaaaaaaaaa", "Password is too repetitive"],
    ["weakling", "Password must not match your email or username"],
  ])("rejects the weak password %j", async (password, message) => {
    const res = await t.api.post("/api/auth/register/", { email: "weakling@example.com", password, display_name: "W" });
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ error: message, code: "WEAK_PASSWORD" });
  });

  it("validates email, display name and username", async () => {
    const bad = await t.api.post("/api/auth/register/", { email: "not-an-email", password: "good passphrase", display_name: "N" });
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ error: "Enter a valid email address", code: "VALIDATION_FAILED" });
    const noName = await t.api.post("/api/auth/register/", { email: "n@example.com", password: "good passphrase", display_name: "  " });
    expect(noName.body.error).toBe("Display name required");
    const badUser = await t.api.post("/api/auth/register/", {
      email: "n@example.com",
      password: "good passphrase",
      display_name: "N",
      username: "a-b",
    });
    expect(badUser.body.error).toBe("Username must be 3-20 chars, alphanumeric or underscore");
  });
});

describe("login", () => {
  it("logs in by email (any case) and refuses bad credentials with the original message", async () => {
    const user = await t.api.register("Bob");
    const ok = await t.api.post("/api/auth/login/", { email: "BOB@example.com", password: user.password });
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({ id: user.id, display_name: "Bob", is_guest: false });
    const wrong = await t.api.post("/api/auth/login/", { email: user.email, password: "nope nope nope" });
    expect(wrong.status).toBe(401);
    expect(wrong.body).toEqual({ error: "Invalid credentials", code: "INVALID_CREDENTIALS" });
    const missing = await t.api.post("/api/auth/login/", {});
    expect(missing.status).toBe(401);
    expect(missing.body.error).toBe("Invalid credentials");
  });

  it("guests cannot log in with a password", async () => {
    const g = await t.api.guest("Ghost");
    const res = await t.api.post("/api/auth/login/", { email: `${g.username}@`, password: "" });
    expect(res.status).toBe(401);
  });

  it("rate limits failed attempts per account with 429 and Retry-After", async () => {
    const user = await t.api.register("Carol");
    const statuses: number[] = [];
    for (let i = 0; i < 11; i += 1) {
      const res = await t.api.post("/api/auth/login/", { email: user.email, password: `wrong ${i} guess` });
      statuses.push(res.status);
    }
    expect(statuses.slice(0, 10).every((s) => s === 401)).toBe(true);
    const blocked = await t.api.post("/api/auth/login/", { email: user.email, password: user.password });
    expect(blocked.status).toBe(429);
    expect(blocked.body.code).toBe("RATE_LIMITED");
    expect(Number(blocked.headers.get("retry-after"))).toBeGreaterThan(0);
  });

  it("rate limits failed attempts per client across accounts", async () => {
    const ip = "127.9.9.9";
    let last = 0;
    for (let i = 0; i < 21; i += 1) {
      last = (await t.api.post("/api/auth/login/", { email: `nobody${i}@example.com`, password: "x" }, { ip })).status;
    }
    expect(last).toBe(429);
    // Another client is unaffected.
    expect((await t.api.post("/api/auth/login/", { email: "nobody@example.com", password: "x" })).status).toBe(401);
  });
});

describe("guests", () => {
  it("guest/ creates a guest with a generated username", async () => {
    const res = await t.api.post("/api/auth/guest/", { display_name: "UserB" });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ display_name: "UserB", is_guest: true });
    expect(res.body.username).toMatch(/^userb([0-9a-f]{4})?$/);
    expect(res.body.access_token).toBeTruthy();
  });

  it("guest/ needs a display name of at most 50 characters", async () => {
    for (const body of [{}, { display_name: "" }, { display_name: null }, { display_name: 42 }]) {
      const res = await t.api.post("/api/auth/guest/", body);
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({ error: "Display name required", code: "VALIDATION_FAILED" });
    }
    const long = await t.api.post("/api/auth/guest/", { display_name: "x".repeat(51) });
    expect(long.status).toBe(400);
  });

  it("guest-login/ returns the original keys plus a usable token", async () => {
    const res = await t.api.post("/api/auth/guest-login/");
    expect(res.status).toBe(200);
    expect(res.body.role).toBe("guest");
    expect(res.body.display_name).toMatch(/^Guest-[0-9a-f]{6}$/);
    expect(res.body.username).toMatch(/^guest[0-9a-f]{6}$/);
    expect(res.body.access).toBe(res.body.access_token);
    const me = await t.api.get("/api/auth/me/", { token: res.body.access });
    expect(me.body).toMatchObject({ is_guest: true, username: res.body.username });
  });

  it("limits account creation per client", async () => {
    const ip = "127.8.8.8";
    let status = 0;
    for (let i = 0; i < 31; i += 1) status = (await t.api.post("/api/auth/guest-login/", undefined, { ip })).status;
    expect(status).toBe(429);
  });
});

describe("tokens", () => {
  it("me/ returns the account; no token is 401 AUTH_REQUIRED, a bad one 401 INVALID_TOKEN", async () => {
    const user = await t.api.register("Dana");
    const me = await t.api.get("/api/auth/me/", { token: user.token });
    expect(me.body).toEqual({
      id: user.id,
      display_name: "Dana",
      username: "dana",
      email: "dana@example.com",
      is_guest: false,
      is_staff: false,
    });
    const none = await t.api.get("/api/auth/me/");
    expect(none.status).toBe(401);
    expect(none.body).toEqual({ error: "Authentication credentials were not provided.", code: "AUTH_REQUIRED" });
    expect(none.headers.get("www-authenticate")).toBe('Bearer realm="api"');
    const bad = await t.api.get("/api/auth/me/", { token: `${user.token}x` });
    expect(bad.status).toBe(401);
    expect(bad.body.code).toBe("INVALID_TOKEN");
    const basic = await t.api.get("/api/auth/me/", { headers: { authorization: "Basic abc" } });
    expect(basic.body.code).toBe("AUTH_REQUIRED");
  });

  it("an expired access token is refused", async () => {
    const short = await startApp({ ACCESS_TOKEN_TTL_SECONDS: "1" });
    try {
      const user = await short.api.register("Erin");
      // fast-jwt allows 5 s of clock tolerance; sign one that expired well before that.
      const { createSigner } = await import("fast-jwt");
      const claims = JSON.parse(Buffer.from(user.token.split(".")[1], "base64url").toString());
      const sign = createSigner({ key: short.config.JWT_SECRET, algorithm: "HS256" });
      const expired = sign({ ...claims, iat: claims.iat - 100, exp: claims.exp - 100 });
      const res = await short.api.get("/api/auth/me/", { token: expired });
      expect(res.status).toBe(401);
      expect(res.body.code).toBe("INVALID_TOKEN");
    } finally {
      await short.stop();
    }
  });

  it("refresh/ rotates: the new pair works, the old refresh token does not, and reuse revokes the session", async () => {
    const user = await t.api.register("Finn");
    const first = await t.api.post("/api/auth/refresh/", { refresh_token: user.refresh_token });
    expect(first.status).toBe(200);
    expect(first.body.refresh_token).not.toBe(user.refresh_token);
    expect((await t.api.get("/api/auth/me/", { token: first.body.access_token })).status).toBe(200);

    const replay = await t.api.post("/api/auth/refresh/", { refresh_token: user.refresh_token });
    expect(replay.status).toBe(401);
    expect(replay.body.code).toBe("INVALID_TOKEN");
    // The replay revoked the session: tokens issued from it stop working.
    expect((await t.api.get("/api/auth/me/", { token: first.body.access_token })).status).toBe(401);
    expect((await t.api.post("/api/auth/refresh/", { refresh_token: first.body.refresh_token })).status).toBe(401);
  });

  it("refresh/ validates its input", async () => {
    expect((await t.api.post("/api/auth/refresh/", {})).body).toMatchObject({ error: "refresh_token required" });
    expect((await t.api.post("/api/auth/refresh/", { refresh_token: "garbage" })).status).toBe(401);
  });

  it("logout/ revokes the presented access token and its refresh token; always 200", async () => {
    const user = await t.api.register("Gina");
    const out = await t.api.post("/api/auth/logout/", undefined, { token: user.token });
    expect(out.status).toBe(200);
    expect(out.body).toEqual({ success: true });
    expect((await t.api.get("/api/auth/me/", { token: user.token })).status).toBe(401);
    expect((await t.api.post("/api/auth/refresh/", { refresh_token: user.refresh_token })).status).toBe(401);
    // A second logout with the now-revoked token still succeeds.
    expect((await t.api.post("/api/auth/logout/", undefined, { token: user.token })).status).toBe(200);
  });

  it("logout/ by refresh token alone revokes the session; other sessions stay", async () => {
    const user = await t.api.register("Hank");
    const second = await t.api.post("/api/auth/login/", { email: user.email, password: user.password });
    await t.api.post("/api/auth/logout/", { refresh_token: user.refresh_token });
    expect((await t.api.get("/api/auth/me/", { token: user.token })).status).toBe(401);
    expect((await t.api.get("/api/auth/me/", { token: second.body.access_token })).status).toBe(200);
  });

  it("logout/ as the reference client sends it: JSON content type, no body, no token", async () => {
    const res = await t.api.request("POST", "/api/auth/logout/", undefined, { headers: { "content-type": "application/json" } });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ success: true });
  });
});

describe("set-username", () => {
  it("sets username and display name at every alias", async () => {
    const user = await t.api.register("Ivy");
    for (const [i, path] of [
      "/api/set-username/",
      "/api/v1/set-username/",
      "/api/auth/set-username/",
      "/api/v1/auth/set-username",
    ].entries()) {
      const res = await t.api.post(path, { username: `ivy_${i}` }, { token: user.token });
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ status: "ok" });
    }
    const me = await t.api.get("/api/auth/me/", { token: user.token });
    expect(me.body).toMatchObject({ username: "ivy_3", display_name: "ivy_3" });
  });

  it("returns the original's errors", async () => {
    const user = await t.api.register("Jack");
    const other = await t.api.register("Kate");
    const cases: [unknown, string][] = [
      [{}, "Username required"],
      [{ username: "  " }, "Username required"],
      [{ username: 5 }, "Username required"],
      [{ username: "ab" }, "Username must be 3-20 chars, alphanumeric or underscore"],
      [{ username: "has space" }, "Username must be 3-20 chars, alphanumeric or underscore"],
      [{ username: "x".repeat(21) }, "Username must be 3-20 chars, alphanumeric or underscore"],
      [{ username: other.username.toUpperCase() }, "Username already taken"],
    ];
    for (const [body, message] of cases) {
      const res = await t.api.post("/api/set-username/", body, { token: user.token });
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body.error).toBe(message);
    }
    expect((await t.api.post("/api/set-username/", { username: "valid_name" })).status).toBe(401);
  });

  it("two users racing for one name: exactly one wins", async () => {
    const users = await Promise.all([t.api.register("Lee"), t.api.register("Max"), t.api.register("Ned")]);
    const results = await Promise.all(users.map((u) => t.api.post("/api/set-username/", { username: "the_one" }, { token: u.token })));
    expect(results.map((r) => r.status).sort()).toEqual([200, 400, 400]);
  });
});
