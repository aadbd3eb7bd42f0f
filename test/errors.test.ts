/** Which failures mean "a dependency is away" (503, retry) rather than a bug (500). */
import { type AddressInfo, createServer } from "node:net";
import pg from "pg";
import { ClientClosedError, SocketClosedUnexpectedlyError, TimeoutError } from "redis";
import { expect, it } from "vitest";
import { AppError, isDependencyDown } from "../src/errors.js";

/**
 * A loopback address where a connection is refused for as long as the test runs: a listener of
 * ours holds the port on 127.0.0.1 (port 0: the OS's choice), so no other process gets it from
 * the OS, and nothing listens on it at 127.0.0.2. (Closing a free port and reusing it is racy.)
 */
async function refusingAddress(): Promise<{ host: string; port: number; release(): Promise<void> }> {
  const holder = createServer((socket) => socket.destroy());
  await new Promise<void>((resolve, reject) => holder.once("error", reject).listen(0, "127.0.0.1", resolve));
  const { port } = holder.address() as AddressInfo;
  return { host: "127.0.0.2", port, release: () => new Promise((resolve) => holder.close(() => resolve())) };
}

it("recognises PostgreSQL and Redis being unreachable, and nothing else", async () => {
  const nobody = await refusingAddress();
  const client = new pg.Client({ host: nobody.host, port: nobody.port, connectionTimeoutMillis: 2000 });
  const refused = await client.connect().then(
    () => undefined,
    (err: unknown) => err,
  );
  await nobody.release();
  expect((refused as { code?: string } | undefined)?.code, "the connection was refused").toBe("ECONNREFUSED");
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
