// Drives postgrest-dev with @supabase/supabase-js exactly as an app would (run by
// tests/api/supabase_js.rs against the fixture of tests/api/fixture.sql). Every check asserts
// what the client returns; the last line is "supabase-js: N checks passed".
import assert from 'node:assert/strict';
import { createClient } from '@supabase/supabase-js';

const url = process.env.SUPABASE_URL; // http://127.0.0.1:<port>; the client adds /rest/v1
const options = { auth: { persistSession: false, autoRefreshToken: false } };
const sb = createClient(url, process.env.SERVICE_KEY, options);
const anon = createClient(url, process.env.ANON_KEY, options);
let checks = 0;
const check = (name, fn) => { fn(); checks += 1; console.log(`ok ${name}`); };

// Inserts with return=representation (.select()).
let r = await sb.from('items')
  .insert([{ name: 'alpha', qty: 3, price: 5 }, { name: 'beta', qty: 7, price: 12 }])
  .select('name,qty');
check('insert returns the rows', () => {
  assert.equal(r.error, null);
  assert.equal(r.status, 201);
  assert.deepEqual(r.data, [{ name: 'alpha', qty: 3 }, { name: 'beta', qty: 7 }]);
});

// Selects with filters, order, limit, single, counts.
r = await sb.from('items').select('name,qty').gt('qty', 2).order('qty', { ascending: false }).limit(5);
check('select with gt, order, limit', () => {
  assert.deepEqual(r.data, [{ name: 'beta', qty: 7 }, { name: 'alpha', qty: 3 }]);
});
r = await sb.from('items').select('name').in('name', ['alpha', 'zzz']).lt('price', 10);
check('select with in and lt', () => assert.deepEqual(r.data, [{ name: 'alpha' }]));
r = await sb.from('items').select('name,qty').eq('name', 'beta').single();
check('single', () => assert.deepEqual(r.data, { name: 'beta', qty: 7 }));
r = await sb.from('items').select('*', { count: 'exact', head: true });
check('count=exact with head', () => { assert.equal(r.count, 2); assert.equal(r.data, null); });
r = await sb.from('cheap_items').select('name').or('name.eq.alpha,name.eq.beta');
check('view with or', () => assert.deepEqual(r.data, [{ name: 'alpha' }]));

// Upsert on a unique column, update, delete.
r = await sb.from('items').upsert({ name: 'alpha', qty: 9 }, { onConflict: 'name' }).select('name,qty');
check('upsert merges on conflict', () => {
  assert.equal(r.error, null);
  assert.deepEqual(r.data, [{ name: 'alpha', qty: 9 }]);
});
r = await sb.from('items').upsert({ name: 'gamma', qty: 1 }, { onConflict: 'name', ignoreDuplicates: true }).select('name');
check('upsert inserts a new row', () => assert.deepEqual(r.data, [{ name: 'gamma' }]));
r = await sb.from('items').update({ note: 'updated' }).eq('name', 'beta').select('name,note');
check('update with filter', () => assert.deepEqual(r.data, [{ name: 'beta', note: 'updated' }]));
r = await sb.from('items').delete().eq('name', 'gamma').select('name');
check('delete with filter', () => assert.deepEqual(r.data, [{ name: 'gamma' }]));

// RPC with named arguments (POST and GET), set-returning with select.
r = await sb.rpc('add_them', { a: 2, b: 3 });
check('rpc scalar', () => assert.equal(r.data, 5));
r = await sb.rpc('hello', { name: 'js' }, { get: true });
check('rpc GET', () => assert.equal(r.data, 'Hello, js'));
r = await sb.rpc('items_min', { min_qty: 8 }).select('name');
check('rpc setof with select', () => assert.deepEqual(r.data, [{ name: 'alpha' }]));

// Errors, as PostgREST answers them.
r = await sb.from('itemz').select();
check('missing table', () => {
  assert.equal(r.status, 404);
  assert.equal(r.error.code, 'PGRST205');
  assert.equal(r.error.hint, "Perhaps you meant the table 'public.items'");
});
r = await sb.from('items').insert({ name: 'beta' });
check('unique violation', () => { assert.equal(r.status, 409); assert.equal(r.error.code, '23505'); });
r = await sb.rpc('pay_up');
check('raised PT402', () => {
  assert.equal(r.status, 402);
  assert.deepEqual(r.error, { code: 'PT402', details: 'Quota exceeded', hint: 'Upgrade your plan', message: 'Payment Required' });
});
r = await anon.from('secrets').select();
check('anon without grant', () => { assert.equal(r.status, 401); assert.equal(r.error.code, '42501'); });
r = await sb.rpc('add_them', { a: 1 });
check('no matching function', () => { assert.equal(r.status, 404); assert.equal(r.error.code, 'PGRST202'); });

console.log(`supabase-js: ${checks} checks passed`);
