/**
 * Kubernetes manifests checked without a cluster, against the kubernetes-models package (the
 * API's OpenAPI definitions, compiled): its validate() checks types, required fields and formats.
 * Those schemas allow properties they do not define, as the API's OpenAPI document does, while
 * kubectl's strict field validation refuses them; so a misspelled field is caught by TypeScript's
 * excess-property check, each manifest typed as the same package's interface for its kind.
 */
import path from "node:path";
import ts from "typescript";

export interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [field: string]: any;
}

const root = path.resolve(import.meta.dirname, "../..");

/** The package's module of a kind: `apps/v1` + `Deployment` → `kubernetes-models/apps/v1/Deployment`. */
function modelModule({ apiVersion, kind }: Manifest): string {
  return `kubernetes-models/${apiVersion}/${kind}`;
}

/** validate()'s findings for one manifest ([] when it passes). */
export async function schemaErrors(manifest: Manifest): Promise<string[]> {
  let model: new (data: unknown) => { validate(): void };
  try {
    model = (await import(modelModule(manifest)))[manifest.kind];
  } catch {
    return [`no schema for ${manifest.apiVersion} ${manifest.kind}`];
  }
  try {
    new model(manifest).validate();
    return [];
  } catch (err) {
    return [(err as Error).message];
  }
}

/**
 * Fields the kind's type does not define, and type mismatches, for every manifest at once (one
 * TypeScript program, nothing written to disk): one line per finding, prefixed with `label`.
 */
export function typeErrors(manifests: { label: string; manifest: Manifest }[]): string[] {
  // Virtual files beside the repository's node_modules, so that the package resolves.
  const sources = new Map(
    manifests.map(({ label, manifest }, i) => [
      path.join(root, `kubernetes-check-${i}.ts`),
      {
        label,
        text: `import type { I${manifest.kind} } from "${modelModule(manifest)}";\nexport const manifest: I${manifest.kind} = ${JSON.stringify(manifest, null, 2)};\n`,
      },
    ]),
  );
  const options: ts.CompilerOptions = {
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.ESNext,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    types: [],
  };
  const host = ts.createCompilerHost(options);
  const { fileExists, readFile, getSourceFile } = host;
  host.fileExists = (file) => sources.has(file) || fileExists(file);
  host.readFile = (file) => sources.get(file)?.text ?? readFile(file);
  host.getSourceFile = (file, language, ...rest) => {
    const source = sources.get(file);
    return source ? ts.createSourceFile(file, source.text, language) : getSourceFile(file, language, ...rest);
  };
  const program = ts.createProgram([...sources.keys()], options, host);
  return ts.getPreEmitDiagnostics(program).map((d) => {
    const where = d.file ? (sources.get(d.file.fileName)?.label ?? d.file.fileName) : "(program)";
    return `${where}: ${ts.flattenDiagnosticMessageText(d.messageText, "\n")}`;
  });
}
