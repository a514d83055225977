/**
 * The benchmark's rows: each job's gas, ours and EAS's, against its EVM floor and its budget; printed as a table
 * and written as JSON.
 */
import type { Floor } from "./floor";

/** A gas budget: at most `max`, and, with `sameAs`, exactly the gas of that row. */
export interface Budget {
  readonly max: number;
  readonly sameAs?: string;
}

/** One measured job. */
export interface Row {
  readonly id: string;
  readonly section: string;
  readonly job: string;
  /** This project's gas (receipt gasUsed; for a view, gas measured around the call in the calling contract). */
  readonly ours: number | null;
  /** What EAS does for the same job, and its gas. */
  readonly easJob: string | null;
  readonly eas: number | null;
  readonly floor: number | null;
  readonly floorTerms: string | null;
  /** Records or grants in the job, for the per-item figures. */
  readonly items?: number;
  readonly budget: Budget | null;
  readonly note?: string;
}

/** A row with its ratios and its budget verdict. */
export interface Result extends Row {
  readonly ratios: { readonly oursToEas: number | null; readonly oursToFloor: number | null };
  readonly perItem: { readonly ours: number | null; readonly eas: number | null } | null;
  readonly budgetText: string | null;
  readonly pass: boolean | null;
}

function ratio(a: number | null, b: number | null): number | null {
  return a === null || b === null || b === 0 ? null : Number((a / b).toPrecision(3));
}

/** Adds the ratios and checks each budget. */
export function evaluate(rows: readonly Row[]): Result[] {
  const byId = new Map(rows.map((row) => [row.id, row]));
  return rows.map((row) => {
    let pass: boolean | null = null;
    let budgetText: string | null = null;
    if (row.budget) {
      const reference = row.budget.sameAs === undefined ? undefined : byId.get(row.budget.sameAs);
      if (row.budget.sameAs !== undefined && reference === undefined) {
        throw new Error(`Row ${row.id} refers to unknown row ${row.budget.sameAs}`);
      }
      budgetText = `<= ${fmt(row.budget.max)}${reference ? ` and = ${reference.job}` : ""}`;
      pass = row.ours !== null && row.ours <= row.budget.max && (!reference || reference.ours === row.ours);
    }
    const perItem =
      row.items === undefined
        ? null
        : {
            ours: row.ours === null ? null : Math.round(row.ours / row.items),
            eas: row.eas === null ? null : Math.round(row.eas / row.items),
          };
    return {
      ...row,
      ratios: { oursToEas: ratio(row.ours, row.eas), oursToFloor: ratio(row.ours, row.floor) },
      perItem,
      budgetText,
      pass,
    };
  });
}

/** `12345` as `12,345`; null as a dash. */
export function fmt(value: number | null): string {
  return value === null ? "-" : value.toLocaleString("en-US");
}

function fmtRatio(value: number | null): string {
  if (value === null) return "-";
  return value < 0.1 ? value.toPrecision(2) : value.toFixed(2);
}

/** The results as a plain-text table, one section after another, then the notes. */
export function renderTable(results: readonly Result[]): string {
  const header = ["Job", "Ours", "EAS", "Floor", "Ours/EAS", "Ours/floor", "Budget", "OK"];
  const notes: string[] = [];
  const lines: { section: string; cells: string[] }[] = [];
  for (const result of results) {
    let job = result.job;
    if (result.note) {
      notes.push(result.note);
      job += ` [${notes.length}]`;
    }
    const perItem = result.perItem ? ` (${fmt(result.perItem.ours)}/item)` : "";
    const easPerItem = result.perItem && result.perItem.eas !== null ? ` (${fmt(result.perItem.eas)}/item)` : "";
    lines.push({
      section: result.section,
      cells: [
        job,
        fmt(result.ours) + perItem,
        fmt(result.eas) + easPerItem,
        fmt(result.floor),
        fmtRatio(result.ratios.oursToEas),
        fmtRatio(result.ratios.oursToFloor),
        result.budgetText === null ? "" : result.budgetText.replace(/ and = .*/, " and constant"),
        result.pass === null ? "" : result.pass ? "yes" : "NO",
      ],
    });
  }
  const widths = header.map((title, i) => Math.max(title.length, ...lines.map((line) => line.cells[i].length)));
  const numeric = new Set([1, 2, 3, 4, 5]);
  const render = (cells: string[]) =>
    cells
      .map((cell, i) => (numeric.has(i) ? cell.padStart(widths[i]) : cell.padEnd(widths[i])))
      .join("  ")
      .trimEnd();
  const out = [render(header), widths.map((w) => "-".repeat(w)).join("  ")];
  let section = "";
  for (const line of lines) {
    if (line.section !== section) {
      section = line.section;
      out.push(`${section}:`);
    }
    out.push(render(line.cells));
  }
  out.push("", "EAS counterparts and notes:");
  for (const result of results) {
    if (result.easJob && result.easJob !== result.job) out.push(`  ${result.job}: EAS = ${result.easJob}`);
  }
  notes.forEach((note, i) => out.push(`  [${i + 1}] ${note}`));
  return out.join("\n");
}

/** The floor's terms for every row that has one. */
export function renderFloors(results: readonly Result[]): string {
  return results
    .filter((result) => result.floorTerms !== null)
    .map((result) => `  ${result.job}: ${fmt(result.floor)} = ${result.floorTerms}`)
    .join("\n");
}

/** A floor as a row's two fields. */
export function floorFields(floor: Floor | null): Pick<Row, "floor" | "floorTerms"> {
  return floor === null ? { floor: null, floorTerms: null } : { floor: floor.gas, floorTerms: floor.terms };
}
