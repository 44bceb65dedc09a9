/** Tests run from TypeScript sources; `npm run check` type-checks them (tsconfig.test.json), as `tsc -b` does the sources. */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/packages', '<rootDir>/conformance', '<rootDir>/fuzz', '<rootDir>/tests'],
  testMatch: ['**/src/**/*.test.ts', '**/test/**/*.test.ts', '**/tests/**/*.test.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { isolatedModules: true, diagnostics: false, tsconfig: 'tsconfig.base.json' }] },
  moduleNameMapper: { '^@wagc/(frontend|x86-64|arm64|linker|abi|cli|snapshot-format)$': '<rootDir>/packages/$1/src', '^@wagc/loader-c$': '<rootDir>/packages/loader-c' },
  testTimeout: 60000,
};
