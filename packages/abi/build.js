// Assembles the runtime library's WebAssembly text into build/*.wasm (npm's wabt package).
const fs = require('fs');
const path = require('path');

async function main() {
  const wabt = await require('wabt')();
  const out = path.join(__dirname, 'build');
  fs.mkdirSync(out, { recursive: true });
  for (const name of ['wasi', 'spectest']) {
    const text = fs.readFileSync(path.join(__dirname, `${name}.wat`), 'utf8');
    const mod = wabt.parseWat(`${name}.wat`, text);
    mod.validate();
    const { buffer } = mod.toBinary({ write_debug_names: true });
    fs.writeFileSync(path.join(out, `${name}.wasm`), buffer);
    mod.destroy();
  }
}

main().catch((e) => {
  console.error(`abi build: ${e.message}`);
  process.exit(1);
});
