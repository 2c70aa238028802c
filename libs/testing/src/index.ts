export { createTestDatabase, testServerUrl, type TestDatabase } from './test-database';
export { eventually } from './eventually';
