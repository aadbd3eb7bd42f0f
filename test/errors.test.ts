/** Which failures mean "a dependency is away" (503, retry) rather than a bug (500). */
import pg from "pg";
import { ClientClosedError, SocketClosedUnexpectedlyError, TimeoutError } from "redis";
import { expect, it } from "vitest";
import { AppError, isDependencyDown } from "../src/errors.js";
import { freePort } from "./helpers/cluster.js";

it("recognises PostgreSQL and Redis being unreachable, and nothing else", async () => {
  const port = await freePort();
  const client = new pg.Client({ host: "127.0.0.1", port, connectionTimeoutMillis: 2000 });
  const refused = await client.connect().then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(isDependencyDown(refused)).toBe(true);
  for (const err of [new TimeoutError(), new SocketClosedUnexpectedlyError(), new ClientClosedError(), new Error("Query read timeout")]) {
    expect(isDependencyDown(err), err.constructor.name).toBe(true);
  }
  const adminShutdown = Object.assign(new Error("terminating connection due to administrator command"), { code: "57P01" });
  expect(isDependencyDown(adminShutdown)).toBe(true);
  const uniqueViolation = Object.assign(new Error("duplicate key"), { code: "23505" });
  for (const err of [uniqueViolation, new AppError("RATE_LIMITED", "slow down"), new TypeError("x is undefined"), "ECONNREFUSED"]) {
    expect(isDependencyDown(err)).toBe(false);
  }
});
