#!/usr/bin/env node
'use strict';
require('../dist/bin').run('wagc', require('../dist/wagc').main);
