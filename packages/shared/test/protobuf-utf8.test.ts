/** The UTF-8 encoder protobuf-es uses in our processes (src/util/protobuf-utf8.ts) writes what TextEncoder writes. */
import { describe, expect, it } from 'vitest';
import { create, toBinary } from '@bufbuild/protobuf';
import { configureTextEncoding, getTextEncoding } from '@bufbuild/protobuf/wire';
import { useNodeUtf8Encoder } from '../src/util/protobuf-utf8.js';
import { userResource } from '../src/sdk/resources.js';
import { ResourceSchema } from '../src/gen/c1/connector/v2/resource_pb.js';

const SAMPLES = [
  '',
  'plain ascii',
  'é ñ ü – — “quotes”',
  '日本語のテキスト',
  '\u{1F600} emoji \u{1F469}\u200D\u{1F4BB}',
  'lone high \uD800 surrogate',
  'lone low \uDC00 surrogate',
  'reversed pair \uDC00\uD800',
  '\u0000 nul and \uFFFF',
  'x'.repeat(5000) + 'é',
];

describe('Node UTF-8 encoder for protobuf-es', () => {
  it('writes the same bytes as TextEncoder, lone surrogates included', () => {
    useNodeUtf8Encoder();
    const encode = getTextEncoding().encodeUtf8;
    const reference = new TextEncoder();
    for (const text of SAMPLES) {
      expect(Buffer.from(encode(text)).equals(Buffer.from(reference.encode(text))), JSON.stringify(text)).toBe(true);
    }
  });

  it('leaves toBinary output unchanged', () => {
    useNodeUtf8Encoder();
    const nodeEncoding = getTextEncoding();
    const resource = userResource({
      type: 'user',
      id: 'ü\uD800',
      displayName: SAMPLES.join(' | '),
      emails: ['ada@example.com'],
      profile: { name: '日本語', nested: { emoji: '\u{1F600}' } },
    });
    const withNode = Buffer.from(toBinary(ResourceSchema, resource));
    try {
      configureTextEncoding({ ...nodeEncoding, encodeUtf8: (text: string) => new TextEncoder().encode(text) });
      const withTextEncoder = Buffer.from(toBinary(ResourceSchema, create(ResourceSchema, resource)));
      expect(withNode.equals(withTextEncoder)).toBe(true);
    } finally {
      configureTextEncoding(nodeEncoding);
    }
  });
});
