// `npm run lint`: typescript-eslint with the rules the Crossplane TypeScript SDK's own repository
// uses (function-sdk-typescript's eslint.config.js: recommended + recommendedTypeChecked, the
// no-unsafe-* family off because protobuf Structs are untyped JSON, unused names allowed with a
// leading underscore, const/var/=== as errors), over every TypeScript file tsconfig.test.json
// type-checks: function/, scripts/, bench/ and test/.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        project: './tsconfig.test.json',
        tsconfigRootDir: import.meta.dirname,
      },
    },
  },
  {
    ignores: ['dist/**', 'node_modules/**', 'build/**', 'e2e/**', '*.config.js', '*.config.ts'],
  },
  {
    files: ['**/*.ts'],
    rules: {
      '@typescript-eslint/explicit-function-return-type': 'off',
      '@typescript-eslint/explicit-module-boundary-types': 'off',
      // Manifests, Structs and YAML are untyped JSON here; the SDK warns on `any` for the same reason.
      '@typescript-eslint/no-explicit-any': 'warn',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_' }],
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      'prefer-const': 'error',
      'no-var': 'error',
      eqeqeq: ['error', 'always'],
    },
  },
  {
    // The server logs through pino; a stray console call there would bypass it.
    files: ['function/**/*.ts'],
    rules: { 'no-console': ['warn', { allow: ['warn', 'error'] }] },
  },
  {
    // Test files: mocks and partial matches are untyped by nature.
    files: ['test/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
);
