/** Page scripts (TypeScript, importing from node_modules) as one browser script each, with esbuild. */
import { build } from "esbuild";

/** `entry` bundled as an iife whose exports become `window[globalName]`. */
export async function bundle(entry: string, globalName: string): Promise<string> {
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    format: "iife",
    globalName,
    platform: "browser",
    target: "chrome120",
    write: false,
    logLevel: "silent",
  });
  return result.outputFiles[0]!.text;
}
