#!/bin/sh
':' //; trap '' QUIT; l="$(dirname "$(readlink -f "$0")")/../../loader-c/build/gate-run-launch"; [ -x "$l" ] && exec "$l" node "$0" "$@"; exec node "$0" "$@"
'use strict';
// Run as a program, this file is a shell script first (the line above, a comment to JavaScript):
// it puts node under gate-run-launch (packages/loader-c/src/launch.c), which handles SIGQUIT from
// its first instruction, runs node again when a SIGQUIT killed it while it was still starting,
// and keeps the status node reported when one kills it while it exits. `node gate-run.js` runs
// it without that (node's own start and exit then have their default SIGQUIT action).
//
// Before anything loads, and for good: a SIGQUIT meant to suspend the program must never kill
// gate-run. The one listener calls whatever gate-run says (removing the last listener would bring
// back the default action, which dumps core). GATE_RUN_EARLY_QUIT: a request came before this
// listener existed (the launcher saw node die of it); it suspends the program at its first check.
const quit = { early: process.env.GATE_RUN_EARLY_QUIT === '1', handler: null };
process.on('SIGQUIT', () => {
  if (quit.handler) quit.handler();
  else quit.early = true;
});
globalThis.gateRunQuit = quit;
const launcher = Number(process.env.GATE_RUN_LAUNCHER_FD ?? -1);
delete process.env.GATE_RUN_LAUNCHER_FD;
delete process.env.GATE_RUN_EARLY_QUIT;
if (launcher >= 0) {
  const fs = require('fs');
  // the launcher: listening now; and, as node exits (when a SIGQUIT may kill it again), the status
  try { fs.writeSync(launcher, 'R'); } catch { /* no launcher after all */ }
  process.on('exit', (code) => {
    try { fs.writeSync(launcher, `E${code}\n`); } catch { /* gone */ }
  });
}
require('../dist/bin').run('gate-run', require('../dist/gate-run').main);
