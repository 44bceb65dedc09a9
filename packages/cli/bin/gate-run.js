#!/usr/bin/env node
'use strict';
require('../dist/bin').run('gate-run', require('../dist/gate-run').main);
