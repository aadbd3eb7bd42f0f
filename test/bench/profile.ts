/**
 * Summarises a V8 CPU profile (`node --cpu-prof`): self time by function and by owner (a
 * package under node_modules, a file of ours, Node's internals, GC, idle), as percentages of the
 * busy (non-idle) time. Usage: tsx test/bench/profile.ts <file.cpuprofile> [top]
 */
import { readFileSync } from "node:fs";
import path from "node:path";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileSummary {
  busyMs: number;
  idleMs: number;
  functions: { name: string; ms: number; percent: number }[];
  owners: { name: string; ms: number; percent: number }[];
}

const root = path.resolve(import.meta.dirname, "../..");

function ownerOf(url: string, functionName: string): string {
  if (functionName === "(garbage collector)") return "(gc)";
  if (functionName === "(program)" || functionName === "(idle)") return functionName;
  if (!url) return "(native)";
  if (url.startsWith("node:")) return `node:${url.slice(5).split("/")[0]}`;
  const file = url.replace(/^file:\/\//, "");
  const inModules = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(file);
  if (inModules) return inModules[1]!;
  return path.relative(root, file);
}

export function summarizeProfile(file: string, top = 15): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, "utf8")) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  // The profiler's own stop call (profiler.ts) is not the server's work.
  const own = new Set<number>();
  const mark = (node: ProfileNode, inside: boolean) => {
    const here = inside || node.callFrame.url.endsWith("test/bench/profiler.ts");
    if (here) own.add(node.id);
    for (const child of node.children ?? []) mark(byId.get(child)!, here);
  };
  mark(profile.nodes[0]!, false);
  const selfUs = new Map<number, number>();
  profile.samples.forEach((id, i) => {
    if (!own.has(id)) selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  });
  const functions = new Map<string, number>();
  const owners = new Map<string, number>();
  let idleUs = 0;
  let busyUs = 0;
  for (const [id, us] of selfUs) {
    const { functionName, url, lineNumber } = byId.get(id)!.callFrame;
    if (functionName === "(idle)") {
      idleUs += us;
      continue;
    }
    busyUs += us;
    const owner = ownerOf(url, functionName);
    const name = `${functionName || "(anonymous)"} ${url ? `${owner}:${lineNumber + 1}` : ""}`.trim();
    functions.set(name, (functions.get(name) ?? 0) + us);
    owners.set(owner, (owners.get(owner) ?? 0) + us);
  }
  const rank = (m: Map<string, number>) =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, us]) => ({ name, ms: Math.round(us / 1000), percent: Math.round((us / busyUs) * 1000) / 10 }));
  return { busyMs: Math.round(busyUs / 1000), idleMs: Math.round(idleUs / 1000), functions: rank(functions), owners: rank(owners) };
}

if (process.argv[1] && import.meta.filename === path.resolve(process.argv[1])) {
  const summary = summarizeProfile(process.argv[2]!, Number(process.argv[3] ?? 15));
  console.log(`busy ${summary.busyMs} ms, idle ${summary.idleMs} ms`);
  console.table(summary.owners);
  console.table(summary.functions);
}
