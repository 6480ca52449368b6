/**
 * One jest run for the whole workspace. Sources are compiled by ts-jest from `src/` (the
 * workspace packages are mapped to their sources, so tests need no build), and the ESM-only
 * noble packages are transformed to CommonJS.
 */
const esmPackages = ['@noble', '@serenity-kit', 'jose'].join('|');

/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/packages', '<rootDir>/services', '<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  testPathIgnorePatterns: ['/node_modules/', '/dist/'],
  moduleNameMapper: {
    '^@bkv/hsm/testing$': '<rootDir>/packages/hsm/src/testing',
    '^@bkv/(protocol|hsm|client|cli)$': '<rootDir>/packages/$1/src',
    '^@bkv/vault$': '<rootDir>/services/vault/src',
  },
  transform: {
    '^.+\\.[tj]s$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.jest.json', diagnostics: false }],
  },
  transformIgnorePatterns: [`/node_modules/(?!(\\.pnpm/)?(${esmPackages}))`],
  testTimeout: 60_000,
  maxWorkers: 2,
};
