/** Browser Origin policy for socket upgrades (cross-site WebSocket hijacking protection). */
export function originAllowed(origin: string | undefined, allowed: readonly string[]): boolean {
  // Non-browser clients send no Origin; browsers always do.
  if (!origin) return true;
  return allowed.includes("*") || allowed.includes(origin);
}
