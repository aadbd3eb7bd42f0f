/** Memory and CPU of a process on this machine, from /proc (the bench's servers are local). */
import { readFileSync } from "node:fs";

export interface ProcessUsage {
  rssBytes: number;
  peakRssBytes: number;
  cpuSeconds: number;
}

export function processUsage(pid: number): ProcessUsage {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const kb = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
    return { rssBytes: kb("VmRSS") * 1024, peakRssBytes: kb("VmHWM") * 1024, cpuSeconds: (Number(stat[11]) + Number(stat[12])) / 100 };
  } catch {
    return { rssBytes: Number.NaN, peakRssBytes: Number.NaN, cpuSeconds: Number.NaN };
  }
}
