// Readers of the artifact formats the studio previews: CSV (RFC 4180
// quoting) and the MLmodel file MLflow writes (the few YAML shapes it
// uses: top-level scalars, flavors as nested maps, the signature as
// single-quoted JSON strings that YAML may fold over several lines).

/** parseCSV reads up to maxRows records of text; with cut, the last record (perhaps cut short) is dropped. */
export function parseCSV(text: string, sep: string, maxRows: number, cut: boolean): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  let i = 0;
  const end = () => {
    row.push(cell);
    cell = '';
  };
  for (; i < text.length && rows.length < maxRows; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (c === '"') quoted = false;
      else cell += c;
    } else if (c === '"' && cell === '') quoted = true;
    else if (c === sep) end();
    else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      end();
      rows.push(row);
      row = [];
    } else cell += c;
  }
  // What is left is a last record with no newline: whole unless the file was cut.
  if (rows.length < maxRows && (cell !== '' || row.length) && !cut) {
    end();
    rows.push(row);
  }
  return rows;
}

/** SigColumn is one input or output of a model signature. */
export interface SigColumn {
  name?: string;
  type: string;
  shape?: string;
  required?: boolean;
}

/** MLmodel is what the studio shows of an MLmodel file. */
export interface MLmodel {
  /** facts are the top-level scalars: mlflow_version, run_id, model_uuid, ... */
  facts: Record<string, string>;
  /** flavors maps each flavor to its scalar attributes as "key: value". */
  flavors: Record<string, string[]>;
  inputs: SigColumn[] | null;
  outputs: SigColumn[] | null;
}

const indentOf = (l: string) => l.length - l.trimStart().length;

/** scalar is a YAML plain or quoted scalar's value. */
function scalar(v: string): string {
  const t = v.trim();
  if (t.length >= 2 && t.startsWith("'") && t.endsWith("'")) return t.slice(1, -1).replace(/''/g, "'");
  if (t.length >= 2 && t.startsWith('"') && t.endsWith('"')) {
    try {
      return JSON.parse(t) as string;
    } catch {
      return t.slice(1, -1);
    }
  }
  return t;
}

/** columns reads a signature's JSON list of columns or tensors; null when absent or unreadable. */
function columns(v: string | undefined): SigColumn[] | null {
  if (!v || v === 'null') return null;
  try {
    const list = JSON.parse(v) as Record<string, any>[];
    if (!Array.isArray(list)) return null;
    return list.map((c) => {
      const spec = c['tensor-spec'];
      if (spec) return { name: c.name, type: `tensor ${spec.dtype ?? ''}`.trim(), shape: Array.isArray(spec.shape) ? `(${spec.shape.join(', ')})` : undefined, required: c.required };
      const type = c.type === 'array' && c.items ? `array<${c.items.type ?? '?'}>` : String(c.type ?? '?');
      return { name: c.name, type, required: c.required };
    });
  } catch {
    return null;
  }
}

/** parseMLmodel reads an MLmodel file's facts, flavors and signature. */
export function parseMLmodel(text: string): MLmodel {
  const lines = text.split(/\r?\n/);
  const out: MLmodel = { facts: {}, flavors: {}, inputs: null, outputs: null };
  const sig: Record<string, string> = {};
  let top = '';
  let flavor = '';
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (!line.trim() || line.trimStart().startsWith('#')) continue;
    const ind = indentOf(line);
    const m = /^\s*([^:]+):(?:\s+(.*))?$/.exec(line);
    if (!m) continue;
    const [, key, rest = ''] = m;
    if (ind === 0) {
      top = key;
      if (rest && rest !== 'null' && key !== 'flavors' && key !== 'signature') out.facts[key] = scalar(rest);
      continue;
    }
    if (top === 'flavors') {
      if (ind === 2) {
        flavor = key;
        out.flavors[flavor] = [];
      } else if (ind === 4 && flavor && rest) out.flavors[flavor].push(`${key}: ${scalar(rest)}`);
    } else if (top === 'signature' && ind === 2) {
      // A quoted value YAML folded: the lines indented deeper continue it.
      let v = rest;
      while (i + 1 < lines.length && lines[i + 1].trim() && indentOf(lines[i + 1]) > 2) v += ` ${lines[++i].trim()}`;
      sig[key] = scalar(v);
    }
  }
  out.inputs = columns(sig.inputs);
  out.outputs = columns(sig.outputs);
  return out;
}
