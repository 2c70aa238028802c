/**
 * What text Accord keeps. PostgreSQL's jsonb cannot hold U+0000 or an unpaired UTF-16
 * surrogate; the other C0 control characters but tab, line feed and carriage return, and DEL,
 * have no use in any text Accord keeps, and would come out raw in the CSV export and break the
 * iCalendar feed (RFC 5545 TEXT excludes them).
 */

const UNPAIRED_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0001-\u0008\u000b\u000c\u000e-\u001f\u007f]/;
// eslint-disable-next-line no-control-regex
const CONTROL_OR_NUL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/g;

/** Why a text is refused, or undefined when Accord can keep it. */
export function textRefusal(text: string): string | undefined {
  if (text.includes('\u0000') || UNPAIRED_SURROGATE.test(text))
    return 'must not contain NUL characters or unpaired surrogates';
  if (CONTROL.test(text))
    return 'must not contain control characters other than tab, line feed and carriage return';
  return undefined;
}

/**
 * The text without the control characters `textRefusal` refuses: for output formats that
 * cannot carry them, from events recorded before they were refused (the log is immutable).
 */
export function withoutControlCharacters(text: string): string {
  return text.replace(CONTROL_OR_NUL, '');
}
