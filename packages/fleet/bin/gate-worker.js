#!/usr/bin/env node
'use strict';
require('../dist/bin').run('gate-worker', require('../dist/gate-worker').main);
