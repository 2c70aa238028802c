// Three tiers (STYLE.md): unit beside the code, integration on the machine's real services,
// end-to-end over HTTP. `npm test` runs all of them.
const swc = [
  '@swc/jest',
  {
    jsc: {
      target: 'es2022',
      parser: { syntax: 'typescript', decorators: true },
      transform: { legacyDecorator: true, decoratorMetadata: true },
      keepClassNames: true,
    },
    module: { type: 'commonjs' },
  },
];
const shared = {
  // content-disposition 3 (under @fastify/static, under the queue dashboard) ships only ESM,
  // which Node 20 requires natively but jest cannot: swc turns that one package into CommonJS.
  transform: { '^.+\\.ts$': swc, '/node_modules/content-disposition/.+\\.js$': swc },
  transformIgnorePatterns: ['/node_modules/(?!content-disposition/)'],
  moduleNameMapper: { '^@app/([a-z-]+)$': '<rootDir>/libs/$1/src/index.ts' },
  testEnvironment: 'node',
};
module.exports = {
  // Unit tests finish in milliseconds; the other tiers wait on real services and consumers.
  testTimeout: 30_000,
  projects: [
    { ...shared, displayName: 'unit', testMatch: ['<rootDir>/{apps,libs}/**/*.spec.ts'] },
    {
      ...shared,
      displayName: 'integration',
      // Redis keys of each file's own, deleted once it is done.
      testEnvironment: '<rootDir>/test/redis-isolated-environment.ts',
      testMatch: ['<rootDir>/{apps,libs}/**/*.int-spec.ts'],
    },
    {
      ...shared,
      displayName: 'e2e',
      testEnvironment: '<rootDir>/test/redis-isolated-environment.ts',
      testMatch: ['<rootDir>/test/**/*.e2e-spec.ts'],
    },
  ],
};
