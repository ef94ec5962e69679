// Which datastore ternd reads its model from (--datastore): wiring only, each one lives in
// peers/datastore. Argument checks happen here, before anything else starts.
import { FileDatastore, type Datastore } from '../../peers/datastore';

export interface DatastoreArgs {
  datastore: 'file';
  config?: string;
}

/** Thrown for a datastore that cannot be set up from the given flags: ternd prints it and exits 1. */
export class DatastoreArgError extends Error {}

export function createDatastore(a: DatastoreArgs): Datastore {
  switch (a.datastore) {
    case 'file':
      if (!a.config) throw new DatastoreArgError('--datastore file needs --config FILE');
      return new FileDatastore(a.config);
  }
}
