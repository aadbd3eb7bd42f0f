/**
 * `npx tsx test/tools/code-stats.ts [dir ...]`: the largest files and the longest functions
 * (lines, from the TypeScript syntax tree) of the given folders (default src, workers, db), for
 * reviews of how the code reads. Prints the top ten of each.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import ts from "typescript";

const roots = process.argv.slice(2).length ? process.argv.slice(2) : ["src", "workers", "db"];
const files = roots.flatMap(function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) return walk(full);
    return full.endsWith(".ts") ? [full] : [];
  });
});

const sizes: [string, number][] = [];
const functions: [string, number][] = [];
for (const file of files) {
  const text = readFileSync(file, "utf8");
  sizes.push([file, text.split("\n").length - (text.endsWith("\n") ? 1 : 0)]);
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const lineOf = (pos: number) => source.getLineAndCharacterOfPosition(pos).line;
  const visit = (node: ts.Node, owner: string): void => {
    let name = owner;
    if (ts.isClassDeclaration(node) && node.name) name = node.name.text;
    if (ts.isFunctionLike(node) && "body" in node && node.body) {
      const label =
        node.name && ts.isIdentifier(node.name)
          ? node.name.text
          : ts.isPropertyAssignment(node.parent) && ts.isIdentifier(node.parent.name)
            ? node.parent.name.text
            : "(anonymous)";
      const lines = lineOf(node.end) - lineOf(node.getStart(source)) + 1;
      functions.push([`${file}:${lineOf(node.getStart(source)) + 1} ${owner ? `${owner}.` : ""}${label}`, lines]);
    }
    ts.forEachChild(node, (child) => visit(child, name));
  };
  visit(source, "");
}

const top = (rows: [string, number][]) =>
  rows
    .sort((a, b) => b[1] - a[1])
    .slice(0, 10)
    .map(([what, n]) => `${String(n).padStart(5)}  ${what}`)
    .join("\n");
console.log(`Largest files (lines):\n${top(sizes)}\n\nLongest functions (lines):\n${top(functions)}`);
