import { ApiProblem } from './api-problem';
import { parseIfMatch } from './if-match';

describe('parseIfMatch', () => {
  it('reads one ETag in each of the forms a client may hold', () => {
    expect(parseIfMatch('"3"')).toEqual([3]);
    expect(parseIfMatch('W/"3"')).toEqual([3]);
    expect(parseIfMatch(' 3 ')).toEqual([3]);
    // A read's ETag leads with the version.
    expect(parseIfMatch('W/"3.Zm9v-bar_1"')).toEqual([3]);
  });

  it('reads a list, any member of which may match (RFC 9110 §13.1.1)', () => {
    expect(parseIfMatch('"3", "4"')).toEqual([3, 4]);
    expect(parseIfMatch('W/"4.abc",W/"5.def" , "6"')).toEqual([4, 5, 6]);
    // Empty elements are ignored (§5.6.1), the same version twice counts once.
    expect(parseIfMatch('"3", , "3",')).toEqual([3]);
  });

  it('reads a well-formed tag Accord never issued as naming no version (RFC 9110: 412, not 400)', () => {
    expect(parseIfMatch('"abc"')).toEqual([]);
    expect(parseIfMatch('"-1"')).toEqual([]);
    expect(parseIfMatch('W/"", "3"')).toEqual([3]);
    // A quoted tag may hold commas, and be longer than the ones Accord issues.
    expect(parseIfMatch('"3,4", "5"')).toEqual([5]);
    expect(parseIfMatch(`"${'x'.repeat(200)}"`)).toEqual([]);
    // Accord writes versions without leading zeros: "011" is not version 11.
    expect(parseIfMatch('"011"')).toEqual([]);
    expect(parseIfMatch('W/"011.abc", "0"')).toEqual([0]);
  });

  it('parses a crafted header in linear time, and refuses one longer than 4 KiB', () => {
    // Blanks that a backtracking pattern could split every way between a tag and its comma.
    const started = performance.now();
    for (const crafted of [`x,${' '.repeat(4000)}"`, `"3",${' \t'.repeat(2000)}x"`]) {
      expect(() => parseIfMatch(crafted)).toThrow(ApiProblem);
    }
    expect(parseIfMatch(`"3",${' '.repeat(4000)}"4"`)).toEqual([3, 4]);
    expect(performance.now() - started).toBeLessThan(50);
    // Valid, but longer than any list a client holds.
    expect(() => parseIfMatch(`"3"${' '.repeat(5000)}`)).toThrow(ApiProblem);
  });

  it('reads * as any version', () => {
    expect(parseIfMatch('*')).toBe('*');
    expect(parseIfMatch(' * ')).toBe('*');
  });

  it('refuses what is not an ETag list with 400 invalid-if-match', () => {
    for (const value of [
      '',
      ',',
      'version-3',
      '"two words"',
      '"3", nope',
      '*, "3"',
      '"3',
      '"3"x',
      'W/ "3"',
      // Bare, as older clients send it, but with a leading zero Accord never writes.
      '018',
      Array.from({ length: 33 }, (_, i) => `"${i}"`).join(', '),
    ]) {
      let problem: unknown;
      try {
        parseIfMatch(value);
      } catch (error) {
        problem = error;
      }
      expect({
        value,
        problem: (problem as { toDocument?: () => unknown })?.toDocument?.(),
      }).toEqual({
        value,
        problem: expect.objectContaining({ status: 400, code: 'invalid-if-match' }),
      });
    }
  });
});
