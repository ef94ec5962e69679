// ternd --datastore etcd flag checks (issue 19): what cannot work is refused before anything
// starts, by name; in particular a user without a password is never sent (an unauthenticated
// connection would look like a permission problem later) and TLS files never go to http://.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createDatastore, DatastoreArgError, type DatastoreArgs } from '../../src/daemon/datastore.js';

const env = {};
const refused = async (a: Partial<DatastoreArgs>, re: RegExp) => {
  await assert.rejects(createDatastore({ datastore: 'etcd', ...a }, { env }), (e: unknown) => e instanceof DatastoreArgError && re.test((e as Error).message));
};

test('--datastore etcd: flag combinations that cannot work are refused by name', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tern-dsargs-'));
  try {
    const pem = path.join(dir, 'x.pem');
    fs.writeFileSync(pem, '');
    await refused({}, /needs --etcd-endpoints/);
    await refused({ 'etcd-endpoints': '127.0.0.1:2379' }, /not http\(s\):\/\/host:port/);
    await refused({ 'etcd-endpoints': 'http://a:1,https://b:2' }, /mix of http/);
    await refused({ 'etcd-endpoints': 'http://a:1', 'etcd-ca': pem }, /need https/);
    await refused({ 'etcd-endpoints': 'https://a:1', 'etcd-cert': pem }, /go together/);
    await refused({ 'etcd-endpoints': 'https://a:1', 'etcd-ca': path.join(dir, 'missing.pem') }, /--etcd-ca .*no such file/);
    await refused({ 'etcd-endpoints': 'http://a:1', 'etcd-username': 'tern' }, /needs --etcd-password-file/);
    await refused({ 'etcd-endpoints': 'http://a:1', 'etcd-password-file': path.join(dir, 'none') }, /--etcd-password-file/);
    await refused({ 'etcd-endpoints': 'http://a:1', config: 'x.yaml' }, /file datastore/);
    // And what is fine gives an etcd datastore (nothing is contacted before start()).
    const pw = path.join(dir, 'pw');
    fs.writeFileSync(pw, 's3cret\n');
    const ds = await createDatastore(
      { datastore: 'etcd', 'etcd-endpoints': 'http://127.0.0.1:1,http://127.0.0.2:1', 'etcd-username': 'tern', 'etcd-password-file': pw },
      { env },
    );
    assert.equal(ds.kind, 'etcd');
    assert.equal(ds.status().source, 'http://127.0.0.1:1,http://127.0.0.2:1');
    assert.equal(ds.status().state, 'syncing');
    await ds.close();
    // $ETCD_ENDPOINTS, as calicoctl reads it.
    const fromEnv = await createDatastore({ datastore: 'etcd' }, { env: { ETCD_ENDPOINTS: 'http://127.0.0.1:1' } });
    assert.equal(fromEnv.status().source, 'http://127.0.0.1:1');
    await fromEnv.close();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
