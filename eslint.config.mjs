// Lint (npm run lint; part of npm test): ESLint's and typescript-eslint's recommended rules,
// without type information so the whole tree takes seconds. tsc (npm run build, and
// tsconfig.test.json for the tests) does the type checking.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';

export default tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**', 'out/**', '**/build/**', 'packages/loader-c/**', 'bench/programs/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      // an unused parameter named _x is part of a signature (an interface's, a callback's)
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      // debug output goes through one flag (--trace), not a stray console.log: in the compiler
      // and its tests a console line is a deliberate report, marked so
      'no-console': 'error',
    },
  },
  {
    // the command-line tools, benchmarks, the conformance runner and the fuzzer print by design
    files: ['packages/cli/src/**', 'packages/cli/bin/**', 'bench/**', 'conformance/**', 'fuzz/src/**', 'scripts/**', 'packages/abi/build.js'],
    ignores: ['**/*.test.ts'],
    rules: { 'no-console': 'off' },
  },
  {
    // tests read untyped JSON (gate-inspect --json, V8's exports) as it comes
    files: ['**/tests/**', '**/*.test.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  {
    // plain CommonJS scripts
    files: ['**/*.js'],
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
);
