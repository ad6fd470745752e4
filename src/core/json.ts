/**
 * The JSON text of session data as every engine stores it, and the size
 * SESSION_MAX_BYTES counts: JSON.stringify's, but numbers in plain decimal
 * (`1e+21` → `1000000000000000000000`, `1.5e-7` → `0.00000015`), as
 * PostgreSQL's jsonb keeps and prints them. Counting `1e308` as 5 bytes
 * would let a session within the limit come back from PostgreSQL as
 * hundreds of times its size on every read. JSON.parse reads the same
 * numbers back. Only text with an exponent in it takes the slow path.
 */
export function storedJson(value: unknown): string {
  const fast = JSON.stringify(value ?? null);
  return /\de[+-]\d/.test(fast) ? (write(value ?? null) ?? 'null') : fast;
}

/** A finite number's shortest round-trip digits (String(n)) written out without an exponent. */
export function plainNumber(n: number): string {
  if (!Number.isFinite(n)) return 'null';
  const text = String(n);
  const at = text.indexOf('e');
  if (at < 0) return text;
  const sign = text.startsWith('-') ? '-' : '';
  const [whole = '', fraction = ''] = text.slice(sign.length, at).split('.');
  const digits = whole + fraction;
  // Where the decimal point falls among `digits`.
  const point = whole.length + Number(text.slice(at + 1));
  if (point <= 0) return `${sign}0.${'0'.repeat(-point)}${digits}`;
  if (point >= digits.length) return sign + digits + '0'.repeat(point - digits.length);
  return `${sign}${digits.slice(0, point)}.${digits.slice(point)}`;
}

/** JSON.stringify's rules (toJSON, undefined and functions left out or null), numbers in plain decimal. */
function write(value: unknown): string | undefined {
  if (value !== null && typeof value === 'object' && typeof (value as { toJSON?: unknown }).toJSON === 'function') {
    return write((value as { toJSON: () => unknown }).toJSON());
  }
  if (typeof value === 'number') return plainNumber(value);
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map((item) => write(item) ?? 'null').join(',')}]`;
  const members: string[] = [];
  for (const [key, item] of Object.entries(value)) {
    const text = write(item);
    if (text !== undefined) members.push(`${JSON.stringify(key)}:${text}`);
  }
  return `{${members.join(',')}}`;
}
