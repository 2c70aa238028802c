import path from 'node:path';

export {
  DatasetImporter,
  DatasetFormatError,
  DatasetTooLargeError,
  MAX_DATASET_BYTES,
  DatasetOperationError,
  parseDataset,
  type ImportReport,
} from './dataset-importer';
export { DatasetModule } from './dataset.module';
export { datasetSchema, validateDataset } from './dataset-checks';
export type { Dataset, DatasetOperation } from './dataset.schema';
export { deterministicUuid } from './deterministic-id';

/** The dataset `npm run cli -- seed` and `npm start` load: the 2025 US–China measures. */
export const BUNDLED_DATASET_PATH = path.resolve(__dirname, '../../../data/us-china-2025.yaml');
