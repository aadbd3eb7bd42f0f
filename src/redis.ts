/** The node-redis client (RESP2), created only when REDIS_URL is configured. */
import { createClient } from "redis";

export type RedisClient = ReturnType<typeof createClient>;

export async function connectRedis(url: string, onError: (err: Error) => void): Promise<RedisClient> {
  const client = createClient({
    url,
    RESP: 2,
    socket: {
      connectTimeout: 5000,
      // Keep retrying with a capped back-off: a Redis restart must not need a service restart.
      reconnectStrategy: (retries) => Math.min(100 * 2 ** retries, 2000),
    },
  });
  client.on("error", onError);
  await client.connect();
  return client;
}

/**
 * The client's id in node-redis's diagnostics channels (`_clientId`, marked internal: there is no
 * public accessor yet); its command-option views (withRequestTimeout) share it.
 */
export function clientIdOf(client: RedisClient): string | undefined {
  return (client as unknown as { _clientId?: string })._clientId;
}

/**
 * The same connection for request-path commands (chat gates, presence, limits, cache), which
 * fail after `timeoutMs` instead of waiting in the offline queue for as long as Redis is away:
 * a chat message during an outage gets its error in seconds, not when Redis returns. Pub/sub and
 * the adapter keep the plain client, whose queued publishes are flushed on reconnection.
 */
export function withRequestTimeout(client: RedisClient, timeoutMs: number): RedisClient {
  return client.withCommandOptions({ timeout: timeoutMs }) as unknown as RedisClient;
}
