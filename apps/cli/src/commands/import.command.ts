import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { Module } from '@nestjs/common';
import { CqrsModule } from '@nestjs/cqrs';
import { ConfigModule, type AccordConfig } from '@app/config';
import { DatabaseModule } from '@app/database';
import {
  BUNDLED_DATASET_PATH,
  DatasetFormatError,
  DatasetImporter,
  DatasetModule,
  DatasetOperationError,
  DatasetTooLargeError,
  MAX_DATASET_BYTES,
  parseDataset,
  type Dataset,
} from '@app/dataset';
import { allMigrations } from '@app/migrations';
import { openCliContext } from '../cli-context';
import type { CliOutput } from '../cli-output';
import { usageOf } from './usage';

@Module({
  imports: [
    ConfigModule,
    DatabaseModule.forRoot({
      migrations: allMigrations,
      migrate: true,
      applicationName: 'accord-cli',
      poolSize: 4,
    }),
    CqrsModule.forRoot(),
    DatasetModule,
  ],
})
class ImportModule {}

/** `import <file>`: runs a dataset file through the command handlers; twice changes nothing. */
export async function importCommand(
  config: AccordConfig,
  out: CliOutput,
  args: string[],
): Promise<number> {
  if (args.length !== 1 || args[0].startsWith('-')) {
    out.error(usageOf('import'));
    return 2;
  }
  // `npm run` moves to the package's root: a relative path means the caller's directory, which
  // npm passes on as INIT_CWD.
  return importFile(path.resolve(config.INIT_CWD ?? process.cwd(), args[0]), out);
}

/** `seed`: imports the bundled 2025 US–China dataset. */
export async function seedCommand(
  _config: AccordConfig,
  out: CliOutput,
  args: string[],
): Promise<number> {
  if (args.length) {
    out.error(usageOf('seed'));
    return 2;
  }
  return importFile(BUNDLED_DATASET_PATH, out);
}

async function importFile(file: string, out: CliOutput): Promise<number> {
  let text: string;
  try {
    // Refused before it is read: parsing a file takes many times its size in memory.
    const { size } = await stat(file);
    if (size > MAX_DATASET_BYTES) {
      out.error(new DatasetTooLargeError(size).message);
      return 1;
    }
    text = utf8(await readFile(file));
  } catch (error) {
    out.error(`Cannot read ${file}: ${(error as Error).message}`);
    return 1;
  }
  // The whole file is checked before any database is opened (or created, or migrated for it).
  let dataset: Dataset;
  try {
    dataset = parseDataset(text);
  } catch (error) {
    if (error instanceof DatasetFormatError || error instanceof DatasetTooLargeError) {
      out.error(error.message);
      return 1;
    }
    throw error;
  }
  const app = await openCliContext(ImportModule);
  const progress = { done: 0, total: 0 };
  // Each operation is recorded whole or not at all, and those done stay: say how far it got.
  const onInterrupt = () => {
    out.progressDone();
    out.error(
      `Interrupted: ${progress.done} of ${progress.total} operations were done (the one under ` +
        'way may be too), and what is recorded stays. Import the file again to add the rest: ' +
        'what is recorded is skipped.',
    );
    process.exit(130);
  };
  try {
    const importer = app.get(DatasetImporter);
    progress.total = dataset.operations.length;
    const started = Date.now();
    process.once('SIGINT', onInterrupt);
    const report = await importer.import(dataset, {
      actor: 'import',
      onProgress: (done, total) => {
        Object.assign(progress, { done, total });
        out.progress(progressBar(done, total));
      },
    });
    out.progressDone();
    out.info(
      `Imported ${report.dataset}: ${report.added} of ${report.total} operations added ` +
        `(${report.events} events), ${report.unchanged} already present, ` +
        `in ${((Date.now() - started) / 1000).toFixed(1)} s.`,
    );
    return 0;
  } catch (error) {
    out.progressDone();
    if (
      error instanceof DatasetFormatError ||
      error instanceof DatasetOperationError ||
      error instanceof DatasetTooLargeError
    ) {
      out.error(error.message);
      return 1;
    }
    throw error;
  } finally {
    process.removeListener('SIGINT', onInterrupt);
    await app.close();
  }
}

function progressBar(done: number, total: number, width = 30): string {
  const filled = Math.round((done / total) * width);
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total} operations`;
}

/**
 * The file's bytes as text, refused when they are not UTF-8: decoded leniently, a Latin-1 "é"
 * would be recorded for good as U+FFFD.
 */
function utf8(bytes: Buffer): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    const at = firstInvalidUtf8(bytes);
    throw new Error(`not UTF-8 (it stops being UTF-8 near byte ${at}): save it as UTF-8`);
  }
}

/** The offset near which the bytes stop being UTF-8: the longest prefix that still is. */
function firstInvalidUtf8(bytes: Buffer): number {
  // Streaming, a prefix cut inside a sequence still decodes (the rest is awaited): a longer
  // valid prefix means every shorter one is valid, so halving finds the longest.
  const valid = (length: number) => {
    try {
      new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(0, length), {
        stream: true,
      });
      return true;
    } catch {
      return false;
    }
  };
  let low = 0;
  let high = bytes.length;
  while (low < high) {
    const middle = Math.ceil((low + high) / 2);
    if (valid(middle)) low = middle;
    else high = middle - 1;
  }
  return low;
}
