/**
 * Reading Prometheus text in tests: scrape an endpoint, read one sample, run promtool on it.
 */
import { execFileSync, spawnSync } from "node:child_process";

export async function scrape(url: string): Promise<string> {
  const res = await fetch(url);
  if (res.status !== 200) throw new Error(`${url}: HTTP ${res.status}`);
  return res.text();
}

/** The samples of `name` whose labels include `labels`, summed (0 when there is none). */
export function sample(text: string, name: string, labels: Record<string, string> = {}): number {
  let total = 0;
  for (const line of text.split("\n")) {
    if (line.startsWith("#")) continue;
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const found = Object.fromEntries([...(match[2] ?? "").matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2]]));
    if (Object.entries(labels).every(([k, v]) => found[k] === v)) total += Number(match[3]);
  }
  return total;
}

/** Every metric family the text declares (its `# TYPE` lines). */
export function families(text: string): Set<string> {
  return new Set([...text.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]!));
}

/** Debian's prometheus package puts promtool on PATH (.ci/run installs it). */
export const PROMTOOL = ["promtool", "/usr/bin/promtool"].find((bin) => {
  try {
    execFileSync(bin, ["--version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
});

/** `promtool check metrics` on the text: its exit status and what it said. */
export function promtoolCheckMetrics(text: string): { status: number | null; output: string } {
  const run = spawnSync(PROMTOOL!, ["check", "metrics"], { input: text, encoding: "utf8" });
  return { status: run.status, output: `${run.stdout}${run.stderr}`.trim() };
}
