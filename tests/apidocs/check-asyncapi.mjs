// The AsyncAPI reference parser (@asyncapi/parser) on each document named on the command
// line. Prints one JSON array: per document its path, whether it parsed, and every
// diagnostic (severity 0 error, 1 warning, 2 information, 3 hint). tests/unit/test_apidocs.py
// reads it.
import { readFile } from "node:fs/promises";
import { Parser } from "@asyncapi/parser";

const parser = new Parser();
const results = [];
for (const path of process.argv.slice(2)) {
  const { document, diagnostics } = await parser.parse(await readFile(path, "utf8"), {
    source: path,
  });
  results.push({
    path,
    parsed: document !== undefined,
    diagnostics: diagnostics.map(({ code, severity, path: where, message }) => ({
      code,
      severity,
      path: "/" + where.join("/"),
      message,
    })),
  });
}
console.log(JSON.stringify(results, null, 2));
