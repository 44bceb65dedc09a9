#!/usr/bin/env node
// Developer tool: compile a .wat (or .wasm) and print objdump disassembly of its functions.
// usage: node scripts/disasm-wat.js FILE [funcname-substring]
const { execFileSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { linkProgram } = require('../packages/linker/dist');
const { spectestModule } = require('../packages/abi/dist');
const file = process.argv[2];
let bytes;
if (file.endsWith('.wat')) {
  const out = path.join(os.tmpdir(), 'disasm.wasm');
  execFileSync('wat2wasm', ['--debug-names', file, '-o', out]);
  bytes = fs.readFileSync(out);
} else bytes = fs.readFileSync(file);
const img = linkProgram({ modules: [{ name: 'spectest', bytes: spectestModule() }, { name: 'main', bytes }], arch: 'x86-64', unresolved: 'trap' });
const bin = path.join(os.tmpdir(), 'disasm.bin');
fs.writeFileSync(bin, img.text);
for (const f of img.functions) {
  if (process.argv[3] ? !f.name.includes(process.argv[3]) : f.name.startsWith('spectest')) continue;
  console.log(`\n== ${f.name} frame=${f.frameSize} [${f.codeStart.toString(16)}, ${f.codeEnd.toString(16)})`);
  const txt = execFileSync('objdump', ['-D', '-b', 'binary', '-mi386:x86-64', '-Mintel', `--start-address=${f.codeStart}`, `--stop-address=${f.codeEnd}`, bin], { encoding: 'utf8' });
  console.log(txt.split('\n').filter((l) => /^\s+[0-9a-f]+:/.test(l)).join('\n'));
}
