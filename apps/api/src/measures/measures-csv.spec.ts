import { toCsv } from './measures-csv';

describe('CSV (RFC 4180)', () => {
  it('separates records with CRLF and leaves plain fields bare', () => {
    expect(
      toCsv([
        ['id', 'code'],
        ['1', 'US-RECIPROCAL-CN'],
      ]),
    ).toBe('id,code\r\n1,US-RECIPROCAL-CN\r\n');
  });

  it('quotes fields with commas, quotes or line breaks, doubling the quotes', () => {
    expect(toCsv([['a, b', 'say "34%"', 'two\nlines', 'cr\rlf']])).toBe(
      '"a, b","say ""34%""","two\nlines","cr\rlf"\r\n',
    );
  });

  it('writes nulls as empty fields and numbers as they are', () => {
    expect(toCsv([[null, 24, 9.7]])).toBe(',24,9.7\r\n');
  });

  it('keeps a cell that starts like a formula as text', () => {
    expect(toCsv([['=HYPERLINK("x")', '@SUM', '-1']])).toBe(`"'=HYPERLINK(""x"")",'@SUM,'-1\r\n`);
  });

  it('drops control characters but tab and line breaks, before the formula check', () => {
    // Recorded before input refused them (events are kept for ever): no escape sequence reaches
    // a terminal, and a control character does not hide a formula.
    expect(toCsv([['a\u0001b\u001b[31mc\u007f', '\u0001=cmd', 'tab\there']])).toBe(
      "ab[31mc,'=cmd,tab\there\r\n",
    );
  });
});
