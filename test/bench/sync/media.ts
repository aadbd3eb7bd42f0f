/**
 * The bench's video, made locally with ffmpeg (nothing is downloaded) and cached in the temp dir:
 * a test pattern with a running clock, VP8 in WebM (every Chromium build plays it, proprietary
 * codecs or not). A keyframe every 15 frames (0.5 s) keeps seeks cheap, and writing to a file
 * lets the muxer add the Cues a browser needs to seek without reading the whole file.
 */
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, renameSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";

export interface VideoSpec {
  seconds: number;
  width: number;
  height: number;
  fps: number;
}

const DEFAULT: VideoSpec = { seconds: 180, width: 320, height: 180, fps: 30 };

/** The path of the test video, encoding it on first use (a few seconds; realtime deadline). */
export async function ensureTestVideo(spec: Partial<VideoSpec> = {}): Promise<string> {
  const { seconds, width, height, fps } = { ...DEFAULT, ...spec };
  const dir = path.join(tmpdir(), "streamit-sync-bench");
  const file = path.join(dir, `testsrc2-${width}x${height}-${fps}fps-${seconds}s.webm`);
  if (existsSync(file)) return file;
  mkdirSync(dir, { recursive: true });
  // Encoded under another name and renamed when complete, so an interrupted run caches nothing.
  const partial = `${file}.${process.pid}.partial`;
  const args = [
    ...["-hide_banner", "-loglevel", "error", "-y"],
    ...["-f", "lavfi", "-i", `testsrc2=size=${width}x${height}:rate=${fps}`, "-t", String(seconds)],
    ...["-c:v", "libvpx", "-b:v", "300k", "-g", "15", "-deadline", "realtime", "-cpu-used", "8", "-an"],
    ...["-f", "webm", partial],
  ];
  try {
    await run("ffmpeg", args);
  } catch (error) {
    rmSync(partial, { force: true });
    throw error;
  }
  renameSync(partial, file);
  return file;
}

function run(command: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)));
    child.once("error", (error) => reject(new Error(`${command} could not start (is it installed?): ${error.message}`)));
    child.once("exit", (code) => (code === 0 ? resolve() : reject(new Error(`${command} exited ${code}: ${stderr.trim()}`))));
  });
}
