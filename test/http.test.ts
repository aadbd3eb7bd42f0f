/**
 * HTTP hygiene across the whole API: malformed input never yields 500 or HTML, aliases and
 * trailing slashes work, CORS matches the reference client, headers, health, docs, metrics.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startApp, type TestApp } from "./helpers/app.js";

let t: TestApp;
let token: string;
let operations: { method: string; path: string }[];

beforeAll(async () => {
  t = await startApp();
  token = (await t.api.register("Prober")).token;
  const schema = await t.api.get("/api/schema/");
  operations = Object.entries(schema.body.paths as Record<string, Record<string, unknown>>).flatMap(([path, ops]) =>
    Object.keys(ops)
      .filter((m) => m !== "head")
      .map((method) => ({ method: method.toUpperCase(), path: path.replace(/\{[^}]+\}/g, "ABC123") })),
  );
});
afterAll(() => t?.stop());

function expectJsonError(res: { status: number; headers: Headers; body: any; text: string }, label: string) {
  expect(res.status, `${label}: ${res.text}`).toBeLessThan(500);
  expect(res.headers.get("content-type"), label).toMatch(/application\/json/);
  if (res.status >= 400) {
    expect(typeof res.body.error, label).toBe("string");
    expect(typeof res.body.code, label).toBe("string");
  }
}

describe("hostile input on every operation", () => {
  it("the schema lists every API operation", () => {
    expect(operations.length).toBeGreaterThanOrEqual(24);
    expect(operations).toContainEqual({ method: "POST", path: "/api/rooms/join/" });
  });

  const bodies: [string, string, Record<string, string>?][] = [
    ["malformed JSON", "{bad json"],
    ["truncated JSON", '{"code": "AB'],
    ["array body", "[1,2,3]"],
    ["string body", '"hello"'],
    ["number body", "42"],
    ["null body", "null"],
    [
      "wrong types",
      '{"code":{"$gt":""},"room_id":[1],"user_id":true,"email":1,"password":[],"display_name":{},"username":7,"is_private":"x","enabled":"x","media_id":1,"media_type":2,"timestamp":"NaN","refresh_token":5}',
    ],
    ["bad uuids", '{"room_id":"not-a-uuid","user_id":"00000000-0000-0000-0000-00000000000g"}'],
    ["huge numbers", '{"timestamp":1e400,"season":1e20,"progress_percent":-1e308}'],
    ["NUL characters", '{"code":"AB\\u0000C","display_name":"a\\u0000b","email":"a\\u0000@b.c","media_id":"\\u0000"}'],
    ["proto pollution", '{"__proto__":{"admin":true},"constructor":{"prototype":{"x":1}}}'],
    ["text/plain body", '{"code":"ABC123"}', { "content-type": "text/plain" }],
    ["form body", "code=ABC123", { "content-type": "application/x-www-form-urlencoded" }],
  ];

  it.each(bodies)("%s: 4xx JSON, never 500", async (_label, raw, headers) => {
    // logout/ revokes the token it is given, so it goes last, and each case gets a fresh account.
    const token = (await t.api.register()).token;
    const ordered = [...operations].sort((a, b) => Number(a.path.includes("logout")) - Number(b.path.includes("logout")));
    for (const op of ordered) {
      for (const auth of [token, undefined]) {
        const res = await t.api.request(op.method, op.path, undefined, {
          raw: op.method === "GET" ? undefined : raw,
          token: auth,
          headers: headers ?? { "content-type": "application/json" },
        });
        expectJsonError(res, `${op.method} ${op.path} (${auth ? "auth" : "anon"})`);
      }
    }
  });

  it("oversized bodies get 413 PAYLOAD_TOO_LARGE", async () => {
    const token = (await t.api.register()).token;
    const raw = JSON.stringify({ code: "x".repeat(100_000) });
    // (Staff routes refuse a non-staff caller first: 403 before the body is read.)
    for (const op of operations.filter((o) => o.method === "POST" && !o.path.startsWith("/api/admin/"))) {
      const res = await t.api.request("POST", op.path, undefined, { raw, token });
      expect(res.status, op.path).toBe(413);
      expect(res.body).toEqual({ error: "Request body is too large", code: "PAYLOAD_TOO_LARGE" });
    }
  });

  it("hostile query strings and path parameters are 4xx JSON", async () => {
    const queries = [
      "?room_id=%00",
      "?room_id[]=a&room_id[]=b",
      `?q=${"x".repeat(5000)}`,
      "?page=1e999",
      "?limit=-0",
      "?sort[]=x",
      "?%ZZ=1",
    ];
    for (const op of operations.filter((o) => o.method === "GET")) {
      for (const q of queries) expectJsonError(await t.api.get(op.path + q, { token }), `${op.path}${q}`);
    }
    for (const [path, status] of [
      ["/api/rooms/%ZZ/detail/", 400],
      ["/api/rooms/%E0%A4%A/resume/", 400],
      [`/api/rooms/${"x".repeat(300)}/detail/`, 414],
    ] as const) {
      const res = await t.api.get(path, { token });
      expect(res.status, path).toBe(status);
      expect(res.body.code).toBe("VALIDATION_FAILED");
    }
    const latin1 = await t.api.request("POST", "/api/rooms/join/", undefined, {
      raw: '{"code":"ABC123"}',
      token,
      headers: { "content-type": "application/json; charset=latin1" },
    });
    expectJsonError(latin1, "latin1 charset");
    for (const code of ["%00", "x".repeat(150), "%F0%9F%98%80", "..%2F..", "ABC%20123"]) {
      expectJsonError(await t.api.get(`/api/rooms/${code}/detail/`, { token }), code);
      expectJsonError(await t.api.get(`/api/rooms/${code}/resume/`, { token }), code);
    }
  });
});

describe("routing", () => {
  it("every path works under /api/v1 and without its trailing slash", async () => {
    for (const op of operations.filter((o) => o.method === "GET" && o.path.startsWith("/api/"))) {
      const canonical = await t.api.get(op.path, { token, ip: "127.50.0.1" });
      const v1 = await t.api.get(op.path.replace(/^\/api\//, "/api/v1/"), { token, ip: "127.50.0.2" });
      const bare = await t.api.get(op.path.replace(/\/$/, ""), { token, ip: "127.50.0.3" });
      expect(v1.status, op.path).toBe(canonical.status);
      expect(bare.status, op.path).toBe(canonical.status);
    }
    const post = await t.api.post("/api/v1/rooms/create", { is_private: false }, { token: (await t.api.register()).token });
    expect(post.status).toBe(201);
  });

  it("unknown paths are 404 JSON; wrong methods are 405 with Allow", async () => {
    const missing = await t.api.get("/api/nothing-here/");
    expect(missing.status).toBe(404);
    expect(missing.body).toEqual({ error: "Not found", code: "NOT_FOUND" });
    const wrong = await t.api.request("DELETE", "/api/rooms/join/");
    expect(wrong.status).toBe(405);
    expect(wrong.headers.get("allow")).toContain("POST");
    expect(wrong.body.code).toBe("METHOD_NOT_ALLOWED");
    const getHealth = await t.api.post("/api/health/");
    expect(getHealth.status).toBe(405);
  });
});

describe("headers", () => {
  it("answers the reference client's preflight from its origin, and only configured origins", async () => {
    const pre = await fetch(`${t.baseUrl}/api/rooms/public/`, {
      method: "OPTIONS",
      headers: {
        origin: "http://localhost:3000",
        "access-control-request-method": "GET",
        "access-control-request-headers": "content-type,authorization",
      },
    });
    expect(pre.status).toBeLessThan(300);
    expect(pre.headers.get("access-control-allow-origin")).toBe("http://localhost:3000");
    expect(pre.headers.get("access-control-allow-credentials")).toBe("true");
    expect(pre.headers.get("access-control-allow-headers")?.toLowerCase()).toContain("authorization");
    expect(pre.headers.get("access-control-allow-headers")?.toLowerCase()).toContain("content-type");
    const other = await fetch(`${t.baseUrl}/api/rooms/public/`, { headers: { origin: "https://evil.example" } });
    expect(other.headers.get("access-control-allow-origin")).toBeNull();
    const actual = await t.api.get("/api/rooms/public/", {
      headers: { origin: "http://127.0.0.1:3000", "content-type": "application/json" },
    });
    expect(actual.status).toBe(200);
    expect(actual.headers.get("access-control-allow-origin")).toBe("http://127.0.0.1:3000");
  });

  it("sends security headers and a request id (echoing a sane incoming one)", async () => {
    const res = await t.api.get("/api/health/", { headers: { "x-request-id": "abc-123" } });
    expect(res.headers.get("x-request-id")).toBe("abc-123");
    expect(res.headers.get("x-frame-options")).toBe("DENY");
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
    expect(res.headers.get("referrer-policy")).toBe("same-origin");
    expect(res.headers.get("cross-origin-opener-policy")).toBe("same-origin");
    const weird = await t.api.get("/api/health/", { headers: { "x-request-id": "<script>" } });
    expect(weird.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe("ops endpoints", () => {
  it("/health/ and /api/health/ report ok", async () => {
    const res = await t.api.get("/health/");
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      status: "ok",
      database: "ok",
      redis: t.config.REDIS_URL ? "ok" : "disabled",
      load: { event_loop_delay_ms: expect.any(Number), event_loop_utilization: expect.any(Number), under_pressure: false },
    });
    expect((await t.api.get("/api/health/")).body).toEqual({ status: "ok" });
  });

  it("/health/ is 503 degraded when the database is gone", async () => {
    const other = await startApp();
    try {
      await other.app.database.close();
      const res = await other.api.get("/health/");
      expect(res.status).toBe(503);
      expect(res.body).toMatchObject({ status: "degraded", database: "error" });
    } finally {
      await other.app.http.close();
      await other.stop().catch(() => {});
    }
  });

  it.runIf(Boolean(process.env.TEST_REDIS_URL))("/health/ is 503 when Redis does not answer", async () => {
    const other = await startApp();
    try {
      await other.app.redis!.disconnect();
      const res = await other.api.get("/health/");
      expect(res.status).toBe(503);
      expect(res.body).toMatchObject({ status: "degraded", database: "ok", redis: "error" });
    } finally {
      await other.stop().catch(() => {});
    }
  });

  it("/api/schema/ is OpenAPI 3 with security and /api/docs/ serves Swagger UI", async () => {
    const schema = await t.api.get("/api/schema/");
    expect(schema.body.openapi).toMatch(/^3\./);
    expect(schema.body.paths["/api/rooms/create/"].post.security).toEqual([{ bearerAuth: [] }]);
    expect(Object.keys(schema.body.paths).some((p) => p.startsWith("/api/v1/"))).toBe(false);
    const docs = await fetch(`${t.baseUrl}/api/docs/`);
    expect(docs.status).toBe(200);
    expect(await docs.text()).toContain("swagger");
  });

  it("/metrics serves Prometheus text with request counters", async () => {
    await t.api.get("/api/health/");
    const res = await fetch(`${t.baseUrl}/metrics`);
    expect(res.headers.get("content-type")).toMatch(/text\/plain/);
    const text = await res.text();
    expect(text).toContain('http_requests_total{method="GET",route="/api/health/",status="200"}');
    expect(text).toContain("process_cpu_user_seconds_total");
  });
});
