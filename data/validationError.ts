import { CurioError } from '../platform/errors';
/** One problem with the input data, located as precisely as the input allows. */
export interface ValidationIssue {
  file: string;
  /** 1-based data row (for CSV, the line is row + 1 because of the header). */
  row?: number;
  column?: string;
  reason: string;
  value?: string;
}

export interface IssueGroup {
  table: string;
  column: string;
  reason: string;
  count: number;
  firstFile: string;
  firstRow: number;
}

/** An issue as the load and import SQL list them (file, row_number, col, reason, value). */
export function issueFromRow(r: Record<string, unknown>): ValidationIssue {
  return {
    file: String(r.file),
    row: Number(r.row_number),
    column: String(r.col),
    reason: String(r.reason),
    ...(r.value !== null && r.value !== undefined ? { value: String(r.value) } : {}),
  };
}

/** A group of issues as the load and import SQL summarise them (tbl, col, reason, n, first_file, first_row). */
export function issueGroupFromRow(r: Record<string, unknown>): IssueGroup {
  return { table: String(r.tbl), column: String(r.col), reason: String(r.reason), count: Number(r.n), firstFile: String(r.first_file), firstRow: Number(r.first_row) };
}

export function formatIssue(i: ValidationIssue): string {
  const where = [i.file, i.row !== undefined ? `row ${i.row}` : undefined, i.column ? `column ${i.column}` : undefined]
    .filter(Boolean)
    .join(', ');
  return `${where}: ${i.reason}${i.value !== undefined ? ` (value: ${JSON.stringify(i.value)})` : ''}`;
}

/**
 * Input data that breaks the data contract. Never worth retrying: the Temporal activities turn it
 * into a non-retryable ApplicationFailure of type DataValidationError.
 */
export class DataValidationError extends CurioError {
  readonly issues: ValidationIssue[];
  readonly total: number;
  readonly groups: IssueGroup[];

  constructor(issues: ValidationIssue[], total = issues.length, groups: IssueGroup[] = []) {
    const head = issues.slice(0, 5).map(formatIssue);
    const more = total > head.length ? `\n  … and ${total - head.length} more issue(s)` : '';
    const kinds =
      groups.length > 1
        ? `\n  by kind: ${groups.map((g) => `${g.table}.${g.column} ${g.reason} ×${g.count}`).join('; ')}`
        : '';
    super(`${total === 1 ? 'invalid input' : `${total} problems in the input`}:\n  ${head.join('\n  ')}${more}${kinds}`, { type: 'DataValidationError', retryable: false });
    this.issues = issues;
    this.total = total;
    this.groups = groups;
  }
}
