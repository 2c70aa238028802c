import { Module } from '@nestjs/common';
import { CqrsModule } from '@nestjs/cqrs';
import { EventStoreModule } from '@app/event-store';
import { TradeModule } from '@app/trade';
import { DatasetImporter } from './dataset-importer';

@Module({
  imports: [CqrsModule, EventStoreModule, TradeModule],
  providers: [DatasetImporter],
  exports: [DatasetImporter],
})
export class DatasetModule {}
