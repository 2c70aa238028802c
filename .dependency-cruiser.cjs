// Layer rules from STYLE.md, enforced on the resolved module graph by `npm run depcheck`:
//   - libs/domain is pure TypeScript: no Nest, TypeORM, BullMQ, Redis, pg, Fastify or Node I/O;
//   - a lib is entered through its root (`@app/<lib>` → libs/<lib>/src/index.ts) only;
//   - libs do not depend on each other in a circle;
//   - an app never imports another app, and a lib never imports an app.
// ESLint (eslint.config.mjs) catches the same deep imports at the import string; this file
// catches them after resolution, whatever path spelling was used.

/** Frameworks and drivers (and their @types) that libs/domain may not import. */
const INFRASTRUCTURE_PACKAGES =
  '(^|/)node_modules/(@types/)?(@nestjs/[^/]+|@fastify/[^/]+|fastify|typeorm|bullmq|ioredis|pg|pg-[^/]+|redis|@redis/[^/]+)(/|$)';
/** Same packages as a bare specifier, for when they cannot be resolved (not installed). */
const INFRASTRUCTURE_SPECIFIERS =
  '^(@nestjs/[^/]+|@fastify/[^/]+|fastify|typeorm|bullmq|ioredis|pg|pg-[^/]+|redis|@redis/[^/]+)(/|$)';

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'domain-no-infrastructure',
      comment:
        'libs/domain is pure TypeScript (decide/evolve, events, commands, errors). It may not ' +
        'import Nest, TypeORM, BullMQ, ioredis, pg or Fastify: put the adapter in a feature lib ' +
        'or in infrastructure and pass what the decision needs in as data.',
      severity: 'error',
      from: { path: '^libs/domain/' },
      to: { path: [INFRASTRUCTURE_PACKAGES, INFRASTRUCTURE_SPECIFIERS] },
    },
    {
      name: 'domain-no-node-core',
      comment:
        'libs/domain may not import Node core modules (fs, http, net, crypto, child_process, ' +
        'node:*, …): time, ids and hashes are passed in, never produced inside a decision.',
      severity: 'error',
      from: { path: '^libs/domain/' },
      to: { dependencyTypes: ['core'] },
    },
    {
      name: 'domain-no-other-lib',
      comment:
        'libs/domain imports another lib. Every other lib is an adapter or application layer ' +
        'built on the domain, so this inverts the layers — and it is how Nest, TypeORM or pg ' +
        'would reach the domain indirectly (node_modules are not followed).',
      severity: 'error',
      from: { path: '^libs/domain/' },
      to: { path: '^libs/', pathNot: '^libs/domain/' },
    },
    {
      name: 'no-deep-lib-import-from-lib',
      comment:
        "A lib imports another lib's internals. Import it through its root `@app/<lib>` " +
        '(libs/<lib>/src/index.ts) and export what you need from there.',
      severity: 'error',
      from: { path: '^libs/([^/]+)/' },
      to: {
        path: '^libs/[^/]+/',
        pathNot: ['^libs/$1/', '^libs/[^/]+/src/index\\.ts$'],
      },
    },
    {
      name: 'no-deep-lib-import',
      comment:
        "Code outside a lib imports that lib's internals. Import it through its root " +
        '`@app/<lib>` (libs/<lib>/src/index.ts) and export what you need from there. ' +
        '(Except the jest environment: jest loads it outside its module registry, where the ' +
        '`@app/*` alias does not resolve, so it takes the one file it needs by path.)',
      severity: 'error',
      from: { pathNot: ['^libs/', '^test/redis-isolated-environment\\.ts$'] },
      to: { path: '^libs/[^/]+/', pathNot: '^libs/[^/]+/src/index\\.ts$' },
    },
    {
      name: 'no-deep-lib-alias',
      comment:
        'Import a lib as `@app/<lib>`: tsconfig maps only the root, so `@app/<lib>/...` is a ' +
        'deep import (and does not resolve).',
      severity: 'error',
      from: {},
      to: { path: '^@app/[^/]+/' },
    },
    {
      name: 'no-circular-between-libs',
      comment:
        'This import between two libs is part of a cycle. Libs form layers (domain → ' +
        'event-store → features → apps); break the cycle by moving the shared piece down a layer ' +
        'or by inverting the dependency.',
      severity: 'error',
      from: { path: '^libs/([^/]+)/' },
      to: { circular: true, path: '^libs/', pathNot: '^libs/$1/' },
    },
    {
      name: 'no-app-to-app',
      comment:
        'An app imports another app. Apps are separate deployables: move what they share into ' +
        'a lib.',
      severity: 'error',
      from: { path: '^apps/([^/]+)/' },
      to: { path: '^apps/', pathNot: '^apps/$1/' },
    },
    {
      name: 'no-lib-to-app',
      comment: 'A lib imports an app. Libs are below apps; move the shared piece into a lib.',
      severity: 'error',
      from: { path: '^libs/' },
      to: { path: '^apps/' },
    },
    {
      name: 'not-to-unresolvable',
      comment:
        'This import cannot be resolved to a file. A missing npm package belongs in package.json; ' +
        'an `@app/...` alias must name a lib root listed in tsconfig.json.',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true },
    },
    {
      name: 'no-non-package-json',
      comment:
        'This module imports an npm package that package.json does not declare; it works only ' +
        'by accident of hoisting. Add it to package.json.',
      severity: 'error',
      from: {},
      to: { dependencyTypes: ['npm-no-pkg', 'npm-unknown'] },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    // Build output of our own (dist/, apps/admin/dist/, coverage/) — but not packages' own
    // dist/ folders under node_modules, which are what `bullmq` and friends resolve to.
    exclude: { path: ['^(dist|coverage)/', '^(apps|libs)/[^/]+/(dist|coverage)/'] },
    // Type-only imports count: a domain type importing `type { Pool } from 'pg'` is still a
    // dependency on pg.
    tsPreCompilationDeps: true,
    // Resolves the `@app/<lib>` path aliases.
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      mainFields: ['main', 'types', 'typings'],
      extensions: ['.ts', '.d.ts', '.js', '.cjs', '.mjs', '.json'],
    },
    reporterOptions: {
      text: { highlightFocused: true },
    },
  },
};
