// Prints the import cycles among the given folders' TypeScript files as JSON (one array of module
// paths per cycle; type-only and dynamic imports count). Runs as its own Node process: dpdm pulls in
// ESM-only packages that jest's CommonJS sandbox cannot load.
const { parseCircular, parseDependencyTree } = require('dpdm');

async function main() {
  const [root, ...folders] = process.argv.slice(2);
  const tree = await parseDependencyTree(
    folders.map((d) => `./${d}/**/*.ts`),
    { context: root, cwd: root, tsconfig: `${root}/tsconfig.json`, transform: false, skipDynamicImports: false },
  );
  process.stdout.write(JSON.stringify({ modules: Object.keys(tree).length, cycles: parseCircular(tree, false) }));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
