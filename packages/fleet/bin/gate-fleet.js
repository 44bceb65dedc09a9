#!/usr/bin/env node
'use strict';
require('../dist/bin').run('gate-fleet', require('../dist/gate-fleet').main);
