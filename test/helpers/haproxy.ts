/**
 * HAProxy for the balancer tests: Debian's `haproxy` package (.ci/run installs it), started on
 * the repo's deploy/haproxy/haproxy.cfg with the addresses given through the environment.
 */
import { execFileSync } from "node:child_process";
import { connect } from "node:net";
import path from "node:path";
import { PORT_ATTEMPTS, type Proc, quietPort, run } from "./cluster.js";

export const HAPROXY_CONFIG = path.resolve(import.meta.dirname, "../../deploy/haproxy/haproxy.cfg");

/** The binary: on PATH, or where Debian puts it (/usr/sbin is not on every user's PATH). */
export const HAPROXY = ["haproxy", "/usr/sbin/haproxy"].find((bin) => {
  try {
    execFileSync(bin, ["-v"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
});
export const hasHaproxy = HAPROXY !== undefined;

/**
 * HAProxy in front of `servers` (host:port each, WEB_1, WEB_2, ...), on a quietPort() of
 * loopback, another while that one is taken. Ready once it listens (servers start up; checks
 * take out one that is not).
 */
export async function startHaproxy(servers: string[]): Promise<Proc & { port: number; baseUrl: string }> {
  const env = Object.fromEntries(servers.map((s, i) => [`WEB_${i + 1}`, s]));
  for (let attempt = 1; ; attempt += 1) {
    const port = quietPort();
    try {
      // -db: stay in the foreground, logs on stdout (the config's `log stdout`); -V: say when
      // it runs (its polling mechanism is chosen once the listeners are bound).
      const proc = await run(
        HAPROXY!,
        ["-db", "-V", "-f", HAPROXY_CONFIG],
        { ...env, LB_BIND: `127.0.0.1:${port}` },
        /Using \w+\(\) as the polling mechanism/,
        {
          timeoutMs: 10_000,
        },
      );
      await listening(port, 10_000);
      return Object.assign(proc, { port, baseUrl: `http://127.0.0.1:${port}` });
    } catch (err) {
      if (!/cannot bind|address already in use/i.test(String(err)) || attempt >= PORT_ATTEMPTS) throw err;
    }
  }
}

/** Resolves once `port` accepts a connection (HAProxy reports its start before its listeners take connections). */
async function listening(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = connect({ host: "127.0.0.1", port }, () => {
        socket.destroy();
        resolve(true);
      });
      socket.on("error", () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`haproxy is not listening on ${port}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
