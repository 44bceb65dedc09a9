#!/usr/bin/env node
'use strict';
// Before anything loads, and for good: a SIGQUIT meant to suspend the program must never kill
// gate-run. The one listener calls whatever gate-run says (removing the last listener would bring
// back the default action, which dumps core).
const quit = { early: false, handler: null };
process.on('SIGQUIT', () => {
  if (quit.handler) quit.handler();
  else quit.early = true;
});
globalThis.gateRunQuit = quit;
require('../dist/bin').run('gate-run', require('../dist/gate-run').main);
