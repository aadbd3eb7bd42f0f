/**
 * The realtime clients a test opened, closed when it ends whatever its outcome (a failed
 * assertion leaks no socket): the factories in clients.ts register each client here, and
 * test/helpers/setup.ts (vitest `setupFiles`) opens a scope before each test and closes what is
 * left open after it. A client opened outside a test (in `beforeAll`, shared by several tests, or
 * by a script that is not a vitest run, e.g. the bench or the soak) is not tracked: whoever opened
 * it closes it.
 */

export interface Closable {
  /** The client's own goodbye (close frame / Socket.IO disconnect). */
  close(): Promise<void>;
  /** Drops the connection without waiting for the server (when the goodbye is not answered). */
  destroy(): void;
}

let scope: Set<Closable> | undefined;

/** Registers a client opened by a test; it leaves the scope by itself once `closed` resolves. */
export function trackClient(client: Closable, closed: Promise<unknown>): void {
  const current = scope;
  if (!current) return;
  current.add(client);
  void closed.then(() => current.delete(client));
}

/** Starts tracking the clients of the test about to run. */
export function beginTestScope(): void {
  scope = new Set();
}

/**
 * Closes every tracked client still open: a goodbye each, all at once, and a client whose goodbye
 * is not answered within `graceMs` (its server stopped, say) is dropped. A test file whose own
 * `afterEach` stops a server may call this first, so that the clients leave before the server goes.
 */
export async function closeTestClients(graceMs = 2000): Promise<void> {
  const current = scope;
  if (!current) return;
  const clients = [...current];
  current.clear();
  await Promise.all(
    clients.map(async (client) => {
      let timer: NodeJS.Timeout | undefined;
      const answered = await Promise.race([
        client.close().then(
          () => true,
          () => false,
        ),
        new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), graceMs))),
      ]);
      clearTimeout(timer);
      if (!answered) client.destroy();
    }),
  );
}

/** Closes what the test left open and stops tracking until the next test begins. */
export async function endTestScope(): Promise<void> {
  await closeTestClients();
  scope = undefined;
}
