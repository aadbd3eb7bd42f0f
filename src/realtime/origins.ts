/** Browser Origin policy for socket upgrades (cross-site WebSocket hijacking protection). */

/**
 * Whether a socket request from a browser page at `origin` is admitted: one of `allowed`
 * (CORS_ORIGINS), or the server's own origin, i.e. the page was served by the host the request
 * is addressed to (`host`, the Host header: the demo page, or a front end behind the same
 * address). A page elsewhere cannot send a Host of ours with its own Origin, so that lets no
 * other site in.
 */
export function originAllowed(origin: string | undefined, allowed: readonly string[], host?: string): boolean {
  // Non-browser clients send no Origin; browsers always do.
  if (!origin) return true;
  if (allowed.includes("*") || allowed.includes(origin)) return true;
  if (!host) return false;
  try {
    return new URL(origin).host === host.toLowerCase();
  } catch {
    return false;
  }
}
