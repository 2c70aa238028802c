import { Module } from '@nestjs/common';
import { CqrsModule } from '@nestjs/cqrs';
import { TradeModule } from '@app/trade';
import { DatasetImporter } from './dataset-importer';

@Module({
  imports: [CqrsModule, TradeModule],
  providers: [DatasetImporter],
  exports: [DatasetImporter],
})
export class DatasetModule {}
