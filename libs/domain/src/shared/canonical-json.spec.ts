import { canonicalJson } from './canonical-json';

/** The same text a client sends, parsed as the api parses it. */
const parsed = (text: string): unknown => JSON.parse(text);

describe('canonicalJson', () => {
  it('writes the same JSON whatever order the keys were sent in, at any depth', () => {
    const one = parsed('{"b":1,"a":{"d":[1,2],"c":null},"c":"x"}');
    const other = parsed('{"c":"x","a":{"c":null,"d":[1,2]},"b":1}');
    expect(canonicalJson(one)).toBe('{"a":{"c":null,"d":[1,2]},"b":1,"c":"x"}');
    expect(canonicalJson(other)).toBe(canonicalJson(one));
  });

  it('sorts the keys of objects inside arrays, nested arrays too, and keeps every array’s order', () => {
    const sources = parsed(
      '{"sources":[{"title":"B","issuer":"x"},[{"z":1,"y":[{"q":2,"p":1}]}]],"rate":{"type":"t","percent":34}}',
    );
    expect(canonicalJson(sources)).toBe(
      '{"rate":{"percent":34,"type":"t"},"sources":[{"issuer":"x","title":"B"},[{"y":[{"p":1,"q":2}],"z":1}]]}',
    );
    // The same objects in another order in an array is another value.
    expect(canonicalJson(parsed('[{"a":1},{"b":2}]'))).not.toBe(
      canonicalJson(parsed('[{"b":2},{"a":1}]')),
    );
  });

  it('orders unicode keys by UTF-16 code unit and keeps composed and decomposed keys apart', () => {
    const keys = parsed('{"日本":1,"é":2,"😀":3,"Z":4,"a":5,"e\\u0301":6,"\\uff21":7}');
    expect(canonicalJson(keys)).toBe('{"Z":4,"a":5,"e\u0301":6,"é":2,"日本":1,"😀":3,"Ａ":7}');
    // "é" precomposed and "e" + U+0301 are two keys in JSON: not merged, not confused.
    expect(canonicalJson(parsed('{"é":1}'))).not.toBe(canonicalJson(parsed('{"e\\u0301":1}')));
  });

  it('writes strings, numbers and literals as JSON.stringify does, and reads back the value', () => {
    const value = parsed(
      '{"s":"quote \\" backslash \\\\ line\\n \\u2028","n":[1.0,-0,1e21,0.1,12345678901234567890],"t":true,"f":false,"z":null,"e":{},"a":[]}',
    );
    expect(canonicalJson(value)).toBe(
      '{"a":[],"e":{},"f":false,"n":[1,0,1e+21,0.1,12345678901234567000],"s":"quote \\" backslash \\\\ line\\n \u2028","t":true,"z":null}',
    );
    // The value JSON.stringify writes (-0 as 0, as it writes it), keys aside.
    expect(JSON.parse(canonicalJson(value))).toEqual(JSON.parse(JSON.stringify(value)));
    expect(canonicalJson(null)).toBe('null');
    expect(canonicalJson('é')).toBe('"é"');
  });

  it('escapes keys as JSON does', () => {
    expect(canonicalJson({ 'a"b': 1, 'a\\': 2 })).toBe('{"a\\"b":1,"a\\\\":2}');
  });
});
