/** One cell of a report's table (CSV or Excel download); null is an empty cell. */
export type Cell = string | number | boolean | null;

/** A report row as table cells: nested objects become dotted column names (completionRate.value), arrays a;b. */
export function flatten(value: unknown, prefix = '', out: Record<string, Cell> = {}): Record<string, Cell> {
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    for (const [k, v] of Object.entries(value)) flatten(v, prefix ? `${prefix}.${k}` : k, out);
  } else if (Array.isArray(value)) {
    out[prefix] = value.join(';');
  } else {
    out[prefix] = (value ?? null) as Cell;
  }
  return out;
}
