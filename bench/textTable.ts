/** A plain-text table: the first `leftColumns` columns left-aligned, the rest right-aligned; a blank line where the first column changes. */
export function printTable(head: string[], cells: string[][], leftColumns: number): void {
  const widths = head.map((h, i) => Math.max(h.length, ...cells.map((c) => (c[i] ?? '').length)));
  const line = (c: string[]) => c.map((x, i) => (i < leftColumns ? x.padEnd(widths[i] as number) : x.padStart(widths[i] as number))).join('  ').trimEnd();
  console.log(line(head));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  let prev = '';
  for (const c of cells) {
    if (prev && c[0] !== prev) console.log('');
    prev = c[0] as string;
    console.log(line(c));
  }
}
