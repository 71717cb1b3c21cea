// Encoding benchmark: protobuf-es toBinary vs our descriptor-compiled fastToBinary (packages/shared/src/wire).
// A ListResources page of 250 user Resources with 100-byte profiles, built like the SDK's userResource().
// Usage: npx tsc -p packages/shared && node bench/encode.mjs [--seconds 3]
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { create, toBinary } from '@bufbuild/protobuf';
import { anyPack } from '@bufbuild/protobuf/wkt';
import { userResource } from '../packages/shared/dist/sdk/resources.js';
import {
  ResourceSchema,
  ResourcesServiceListResourcesResponseSchema,
} from '../packages/shared/dist/gen/c1/connector/v2/resource_pb.js';
import { UserTraitSchema } from '../packages/shared/dist/gen/c1/connector/v2/annotation_trait_pb.js';
import { fastAnyPack, fastEncodeStats, fastToBinary } from '../packages/shared/dist/wire/encode.js';

const args = process.argv.slice(2);
const SECONDS = args.includes('--seconds') ? Number(args[args.indexOf('--seconds') + 1]) : 3;
const PAGE = 250;

function page(offset) {
  const list = [];
  for (let i = offset; i < offset + PAGE; i++) {
    list.push(
      userResource({
        type: 'user',
        id: `user-${i}`,
        displayName: `User ${i}`,
        emails: [`user${i}@example.com`],
        login: `user${i}`,
        status: 'enabled',
        profile: { index: i, padding: 'x'.repeat(100) },
      }),
    );
  }
  return create(ResourcesServiceListResourcesResponseSchema, { list, nextPageToken: String(offset + PAGE) });
}

/** Runs fn repeatedly for about `seconds`, returns calls per second (after a warm-up). */
function rate(fn, seconds) {
  const warm = performance.now();
  while (performance.now() - warm < 300) fn();
  let n = 0;
  const start = performance.now();
  let now = start;
  while (now - start < seconds * 1000) {
    fn();
    n++;
    now = performance.now();
  }
  return (n * 1000) / (now - start);
}

const pages = [page(0), page(PAGE), page(2 * PAGE), page(3 * PAGE)];
const schema = ResourcesServiceListResourcesResponseSchema;
for (const p of pages) {
  const a = Buffer.from(toBinary(schema, p));
  const b = Buffer.from(fastToBinary(schema, p));
  if (!a.equals(b)) throw new Error('fastToBinary differs from toBinary');
}
const bytes = toBinary(schema, pages[0]).length;
const fallbacksBefore = fastEncodeStats.fallbacks;

let k = 0;
const slow = rate(() => toBinary(schema, pages[k++ & 3]), SECONDS);
const fast = rate(() => fastToBinary(schema, pages[k++ & 3]), SECONDS);

// One Resource at a time (small messages: Buffer.allocUnsafe serves them from Node's pool).
const resources = pages[0].list;
let j = 0;
const oneSlow = rate(() => toBinary(ResourceSchema, resources[j++ % PAGE]), 1);
const oneFast = rate(() => fastToBinary(ResourceSchema, resources[j++ % PAGE]), 1);

// Packing the UserTrait annotation (userResource does this with anyPack per resource).
const trait = create(UserTraitSchema, {
  emails: [{ address: 'user1@example.com', isPrimary: true }],
  status: { status: 1 },
  profile: { index: 1, padding: 'x'.repeat(100) },
  accountType: 1,
  login: 'user1',
});
const packSlow = rate(() => anyPack(UserTraitSchema, trait), 1);
const packFast = rate(() => fastAnyPack(UserTraitSchema, trait), 1);

const line = (name, pagesPerSec) =>
  `${name.padEnd(14)} ${pagesPerSec.toFixed(0).padStart(7)} pages/s  ${(pagesPerSec * PAGE).toFixed(0).padStart(10)} resources/s  ` +
  `${(1e6 / (pagesPerSec * PAGE)).toFixed(2).padStart(6)} µs/resource`;
console.log(
  `ResourcesServiceListResourcesResponse, ${PAGE} user resources, ${bytes} bytes/page, ${SECONDS}s each, node ${process.version}`,
);
console.log(line('toBinary', slow));
console.log(line('fastToBinary', fast));
console.log(
  `speed-up       ${(fast / slow).toFixed(1)}x   (fallbacks during the run: ${fastEncodeStats.fallbacks - fallbacksBefore})`,
);
console.log(
  `single Resource: toBinary ${(1e6 / oneSlow).toFixed(2)} µs   fastToBinary ${(1e6 / oneFast).toFixed(2)} µs   (${(oneFast / oneSlow).toFixed(1)}x)`,
);
console.log(
  `anyPack(UserTrait): ${(1e6 / packSlow).toFixed(2)} µs   fastAnyPack: ${(1e6 / packFast).toFixed(2)} µs   (${(packFast / packSlow).toFixed(1)}x)`,
);
console.log(
  `load average: ${os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}  (${os.cpus().length} cpus)`,
);
