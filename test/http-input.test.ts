/**
 * What the HTTP API accepts as input: JSON bodies only (415 otherwise), strings checked after
 * parsing (NUL, lone surrogates), the display-name policy, and the budget of unknown room codes
 * that keeps the code-lookup routes from telling a prober which codes exist.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ApiResponse, nextClientIp } from "./helpers/api.js";
import { startApp, type TestApp } from "./helpers/app.js";

const CODE_BUDGET = 5;
let t: TestApp;
beforeAll(async () => {
  t = await startApp({ ROOM_CODE_MISSES_PER_CLIENT: String(CODE_BUDGET) });
});
afterAll(() => t?.stop());

const raw = (path: string, body: string, headers: Record<string, string> = { "content-type": "application/json" }) =>
  t.api.request("POST", path, undefined, { raw: body, headers });

describe("JSON bodies", () => {
  it("the text \\\\u0000 (an escaped backslash, not a NUL) is accepted and kept as sent", async () => {
    const res = await raw("/api/auth/guest/", String.raw`{"display_name":"back\\u0000slash"}`);
    expect(res.status, res.text).toBe(200);
    expect(res.body.display_name).toBe(String.raw`back\u0000slash`);
    const me = await t.api.get("/api/auth/me/", { token: res.body.access_token });
    expect(me.body.display_name).toBe(String.raw`back\u0000slash`);
  });

  it("a NUL anywhere in the decoded value (strings, nested strings, keys) is 400 with where it is", async () => {
    const cases: [string, string][] = [
      [String.raw`{"display_name":"a\u0000b"}`, "display_name: Strings must not contain NUL characters"],
      [String.raw`{"display_name":"ok","extra":{"list":["x","\u0000"]}}`, "extra.list.1: Strings must not contain NUL characters"],
      [String.raw`{"display_name":"ok","a\u0000":1}`, "Keys must not contain NUL characters"],
      [String.raw`{"display_name":"ok","nested":{"k\u0000":1}}`, "Keys must not contain NUL characters"],
    ];
    for (const [body, error] of cases) {
      const res = await raw("/api/auth/guest/", body);
      expect(res.status, body).toBe(400);
      expect(res.body, body).toEqual({ error, code: "VALIDATION_FAILED" });
    }
  });

  it("a lone surrogate (not storable as UTF-8) is 400, a well-formed pair is fine", async () => {
    for (const [body, error] of [
      [String.raw`{"display_name":"a\ud800b"}`, "display_name: Strings must be valid Unicode (it contains a lone surrogate)"],
      [String.raw`{"display_name":"ok","x":["\udc00"]}`, "x.0: Strings must be valid Unicode (it contains a lone surrogate)"],
      [String.raw`{"display_name":"ok","\udfff":1}`, "Keys must be valid Unicode (it contains a lone surrogate)"],
    ]) {
      const res = await raw("/api/auth/guest/", body!);
      expect(res.status, body).toBe(400);
      expect(res.body, body).toEqual({ error, code: "VALIDATION_FAILED" });
    }
    const pair = await raw("/api/auth/guest/", String.raw`{"display_name":"smile \ud83d\ude00"}`);
    expect(pair.status, pair.text).toBe(200);
    expect(pair.body.display_name).toBe("smile 😀");
  });

  it("malformed JSON, prototype poisoning and absurd nesting stay 400 JSON errors", async () => {
    for (const [body, error] of [
      ["{bad json", "Malformed JSON body"],
      ['{"__proto__":{"x":1}}', "Malformed JSON body"],
    ] as const) {
      const res = await raw("/api/auth/guest/", body);
      expect(res.status, body.slice(0, 40)).toBe(400);
      expect(res.body, body.slice(0, 40)).toEqual({ error, code: "VALIDATION_FAILED" });
    }
    // Nesting thousands deep fits the body limit; the string check (iterative) must not overflow into a 500.
    for (const body of [`${"[".repeat(20_000)}${"]".repeat(20_000)}`, `${'{"":'.repeat(12_000)}1${"}".repeat(12_000)}`]) {
      const res = await raw("/api/auth/guest/", body);
      expect(res.status, body.slice(0, 40)).toBe(400);
      expect(res.body.code, body.slice(0, 40)).toBe("VALIDATION_FAILED");
    }
  });

  it("an empty JSON body and a request with no body at all are an empty object", async () => {
    const empty = await raw("/api/auth/logout/", "");
    expect(empty.status, empty.text).toBe(200);
    expect(empty.body).toEqual({ success: true });
    const blank = await raw("/api/auth/logout/", "  \n");
    expect(blank.status, blank.text).toBe(200);
    // No body and no Content-Type (fetch sends Content-Length: 0).
    const bare = await fetch(`${t.baseUrl}/api/auth/guest-login/`, { method: "POST", headers: { "x-forwarded-for": nextClientIp() } });
    expect(bare.status).toBe(200);
    const noType = await t.api.request("POST", "/api/auth/logout/");
    expect(noType.status, noType.text).toBe(200);
    const missing = await t.api.request("POST", "/api/auth/guest/");
    expect(missing.body).toEqual(expect.objectContaining({ error: "Display name required", code: "VALIDATION_FAILED" }));
  });

  it("every non-JSON body is 415 UNSUPPORTED_MEDIA_TYPE with the JSON error body", async () => {
    const host = await t.api.register();
    for (const [type, body] of [
      ["text/plain", '{"display_name":"Plain"}'],
      ["text/plain; charset=utf-8", '{"display_name":"Plain"}'],
      ["application/x-www-form-urlencoded", "display_name=Form"],
      ["multipart/form-data; boundary=x", "--x\r\n\r\nForm\r\n--x--"],
      ["application/xml", "<a/>"],
    ] as const) {
      for (const [path, token] of [
        ["/api/auth/guest/", undefined],
        ["/api/rooms/create/", host.token],
      ] as const) {
        const res = await t.api.request("POST", path, undefined, { raw: body, headers: { "content-type": type }, token });
        expect(res.status, `${type} ${path}: ${res.text}`).toBe(415);
        expect(res.headers.get("content-type")).toMatch(/application\/json/);
        expect(res.body).toEqual({ error: "Content-Type must be application/json", code: "UNSUPPORTED_MEDIA_TYPE" });
      }
    }
    // A body with no Content-Type at all is not JSON either.
    const untyped = await fetch(`${t.baseUrl}/api/auth/guest/`, {
      method: "POST",
      headers: { "x-forwarded-for": nextClientIp() },
      body: new Uint8Array(Buffer.from('{"display_name":"Untyped"}')),
    });
    expect(untyped.status).toBe(415);
    expect(await untyped.json()).toEqual({ error: "Content-Type must be application/json", code: "UNSUPPORTED_MEDIA_TYPE" });
    // JSON with a charset parameter is still JSON.
    const charset = await raw("/api/auth/guest/", '{"display_name":"Charset"}', { "content-type": "application/json; charset=utf-8" });
    expect(charset.status, charset.text).toBe(200);
  });
});

describe("display names", () => {
  const register = (display_name: unknown) =>
    t.api.post("/api/auth/register/", {
      email: `n${Math.random().toString(36).slice(2, 10)}@example.com`,
      password: "good passphrase here",
      display_name,
    });
  const guest = (display_name: unknown) => t.api.post("/api/auth/guest/", { display_name });
  const forEachRoute = async (name: unknown, check: (res: ApiResponse, label: string) => void) => {
    check(await register(name), `register ${JSON.stringify(name)}`);
    check(await guest(name), `guest ${JSON.stringify(name)}`);
  };

  it("too long gets the real reason, not 'Display name required'", async () => {
    for (const name of ["x".repeat(300), "x".repeat(51)]) {
      await forEachRoute(name, (res, label) => {
        expect(res.status, label).toBe(400);
        expect(res.body, label).toMatchObject({ error: "Display name must be at most 50 characters", code: "VALIDATION_FAILED" });
      });
    }
    await forEachRoute("x".repeat(50), (res, label) => expect(res.status, `${label}: ${res.text}`).toBeLessThan(300));
  });

  it("missing, empty, blank or not a string keeps the original's exact message", async () => {
    for (const name of [undefined, "", "   ", null, 42, {}]) {
      await forEachRoute(name, (res, label) => {
        expect(res.status, label).toBe(400);
        expect(res.body, label).toMatchObject({ error: "Display name required", code: "VALIDATION_FAILED" });
      });
    }
  });

  it("control, bidirectional and invisible formatting characters are refused, naming the field", async () => {
    const refused = [
      "Bo\u0007b",
      "Bo\nb",
      "Bo\tb",
      "Bo\u007Fb",
      "Bo\u0085b", // controls (C0, DEL, C1)
      "Al\u202Eecila",
      "Al\u2066ice\u2069",
      "Al\u200Fice",
      "Al\u061Cice", // bidi overrides, isolates, marks
      "Ali\u200Bce",
      "Ali\u2060ce",
      "Ali\uFEFFce",
      "Ali\u00ADce",
      "Ali\u2062ce", // invisible formatting
    ];
    for (const name of refused) {
      await forEachRoute(name, (res, label) => {
        expect(res.status, label).toBe(400);
        expect(res.body, label).toMatchObject({
          error: "Display name must not contain control, bidirectional or invisible formatting characters",
          code: "VALIDATION_FAILED",
        });
      });
    }
  });

  it("ordinary names in any script, emoji sequences and punctuation are accepted as sent", async () => {
    for (const name of ["Zoë", "محمد", "李小龙", "👩\u200D💻 Dev", "क्\u200Dष", "O'Brien-Smith (he/him)", String.raw`back\slash`]) {
      await forEachRoute(name, (res, label) => {
        expect(res.status, `${label}: ${res.text}`).toBeLessThan(300);
        expect(res.body.display_name, label).toBe(name);
      });
    }
  });
});

describe("room-code lookups", () => {
  let host: { token: string };
  let prober: { token: string };
  let room: { code: string };
  const UNKNOWN = ["ZZZZZ1", "ZZZZZ2", "ZZZZZ3", "ZZZZZ4", "ZZZZZ5", "ZZZZZ6", "ZZZZZ7", "ZZZZZ8"];
  const routes = ["detail", "resume", "events"] as const;
  /** What a non-member gets for a real room: detail and events 403, resume 200. */
  const realStatus = { detail: 403, resume: 200, events: 403 } as const;
  const lookup = (code: string, route: (typeof routes)[number], ip: string, token = prober.token, base = "/api") =>
    t.api.get(`${base}/rooms/${code}/${route}/`, { token, ip });

  beforeAll(async () => {
    host = await t.api.register();
    prober = await t.api.register();
    room = await t.api.createRoom(host.token);
  });

  const expectLimited = (res: ApiResponse, label: string) => {
    expect(res.status, `${label}: ${res.text}`).toBe(429);
    expect(res.body.code, label).toBe("RATE_LIMITED");
    const retryAfter = Number(res.headers.get("retry-after"));
    expect(retryAfter, label).toBeGreaterThan(0);
    expect(retryAfter, label).toBeLessThanOrEqual(600);
  };

  it("unknown codes spend a per-address budget; then every lookup from that address is 429, real codes too", async () => {
    const ip = nextClientIp();
    for (let i = 0; i < CODE_BUDGET; i += 1) {
      const res = await lookup(UNKNOWN[i]!, routes[i % routes.length]!, ip);
      expect(res.status, `miss ${i + 1}: ${res.text}`).toBe(404);
    }
    expectLimited(await lookup(UNKNOWN[CODE_BUDGET]!, "detail", ip), "the miss over budget");
    // The same answer for a real code: 429 against 403 would still tell which codes exist.
    for (const route of routes) expectLimited(await lookup(room.code, route, ip), `real code, ${route}`);
    expectLimited(await lookup(room.code, "detail", ip, host.token), "the host, same address");
    expectLimited(await lookup(room.code, "detail", ip, prober.token, "/api/v1"), "the v1 alias");

    // Another address is untouched: real codes answer as usual, unknown ones 404.
    const other = nextClientIp();
    for (const route of routes) expect((await lookup(room.code, route, other)).status, route).toBe(realStatus[route]);
    expect((await lookup(room.code, "detail", other, host.token)).status).toBe(200);
    expect((await lookup(UNKNOWN[0]!, "resume", other)).status).toBe(404);
  });

  it("lookups of real codes are given back: 50 of them never get throttled and leave the budget whole", async () => {
    const ip = nextClientIp();
    for (let i = 0; i < 50; i += 1) {
      const route = routes[i % routes.length]!;
      const res = await lookup(room.code, route, ip, i % 2 ? host.token : prober.token);
      expect(res.status, `hit ${i + 1}: ${res.text}`).toBe(i % 2 ? 200 : realStatus[route]);
    }
    // Hits between misses do not count either; once the last miss is spent, hits are 429 too.
    for (let i = 0; i < CODE_BUDGET; i += 1) {
      expect((await lookup(UNKNOWN[i]!, "events", ip)).status, `miss ${i + 1}`).toBe(404);
      const hit = await lookup(room.code, "resume", ip);
      if (i < CODE_BUDGET - 1) expect(hit.status, `hit after miss ${i + 1}`).toBe(200);
      else expectLimited(hit, "a hit once the budget is spent");
    }
    expectLimited(await lookup(UNKNOWN[CODE_BUDGET]!, "events", ip), "the miss over budget");
  });

  it("concurrent probes cannot all slip through: at most the budget gets an answer", async () => {
    const ip = nextClientIp();
    const probes = Array.from({ length: 20 }, (_, i) => lookup(`QQQQ${String(i).padStart(2, "0")}`, routes[i % routes.length]!, ip));
    const statuses = (await Promise.all(probes)).map((r) => r.status);
    const answered = statuses.filter((s) => s === 404).length;
    expect(answered).toBeGreaterThan(0);
    expect(answered).toBeLessThanOrEqual(CODE_BUDGET);
    expect(statuses.filter((s) => s === 429).length).toBe(20 - answered);
    expectLimited(await lookup(room.code, "detail", ip), "a real code afterwards");
  });

  it("requests refused before the lookup (no token, bad code) spend nothing", async () => {
    const ip = nextClientIp();
    for (let i = 0; i < 10; i += 1) {
      expect((await t.api.get(`/api/rooms/${UNKNOWN[i % UNKNOWN.length]}/detail/`, { ip })).status).toBe(401);
      expect((await lookup("x".repeat(33), "detail", ip)).status).toBe(400);
    }
    for (let i = 0; i < CODE_BUDGET; i += 1) expect((await lookup(UNKNOWN[i]!, "detail", ip)).status).toBe(404);
  });
});

describe("AttemptLimiter.refund", () => {
  it("gives back one counted attempt, never below zero, and never opens a window", async () => {
    const limiter = t.app.limiter;
    const rule = { limit: 2, windowSeconds: 60 };
    const key = `test-refund:${nextClientIp()}`;
    await limiter.refund(key);
    await limiter.refund(key);
    expect(await limiter.peek(key, rule)).toEqual({ allowed: true, retryAfterSeconds: 0 });
    expect((await limiter.hit(key, rule)).allowed).toBe(true);
    expect((await limiter.hit(key, rule)).allowed).toBe(true);
    expect((await limiter.hit(key, rule)).allowed).toBe(false);
    await limiter.refund(key);
    await limiter.refund(key);
    expect((await limiter.hit(key, rule)).allowed).toBe(true);
    // Three refunds on a count of two: the count stops at zero, so two more hits fit, not three.
    await limiter.refund(key);
    await limiter.refund(key);
    await limiter.refund(key);
    expect((await limiter.hit(key, rule)).allowed).toBe(true);
    expect((await limiter.hit(key, rule)).allowed).toBe(true);
    const over = await limiter.hit(key, rule);
    expect(over.allowed).toBe(false);
    expect(over.retryAfterSeconds).toBeGreaterThan(0);
    expect(over.retryAfterSeconds).toBeLessThanOrEqual(60);
  });
});
