import { noneMatchMatches } from './conditional-get';

describe('If-None-Match against the ETag a read would send (RFC 9110 §13.1.2)', () => {
  const etag = 'W/"7.AbC-_9"';

  it('matches the tag by weak comparison, alone or in a list, and `*`', () => {
    for (const header of [
      'W/"7.AbC-_9"',
      '"7.AbC-_9"',
      '*',
      ' * ',
      '"x", W/"7.AbC-_9"',
      'W/"a,b" ,, "7.AbC-_9" ',
      ['"x"', 'W/"7.AbC-_9"'],
    ]) {
      expect({ header, matches: noneMatchMatches(header, etag) }).toEqual({
        header,
        matches: true,
      });
    }
  });

  it('does not match another tag, a malformed list or no header', () => {
    for (const header of [
      undefined,
      '',
      'W/"7.AbC-_"',
      'W/"8.AbC-_9"',
      '7.AbC-_9',
      'W/"7.AbC-_9" W/"x"',
      '"x", *',
      'w/"7.AbC-_9"',
    ]) {
      expect({ header, matches: noneMatchMatches(header, etag) }).toEqual({
        header,
        matches: false,
      });
    }
  });
});
