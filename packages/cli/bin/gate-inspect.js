#!/usr/bin/env node
'use strict';
require('../dist/bin').run('gate-inspect', require('../dist/gate-inspect').main);
