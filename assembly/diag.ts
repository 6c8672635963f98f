// Diagnostics: every problem of every document, each with the YAML path of
// the node it is about.
import { jstr } from "./json";

/** A path into a document, as a persistent linked list of JSON segments. */
export class Path {
  parent: Path | null;
  seg: string; // JSON text of the segment ("\"spec\"" or "3"); "" for the root
  constructor(parent: Path | null, seg: string) {
    this.parent = parent;
    this.seg = seg;
  }
  static root(): Path {
    return new Path(null, "");
  }
  k(key: string): Path {
    return new Path(this, jstr(key));
  }
  i(index: i32): Path {
    return new Path(this, index.toString());
  }
  toJson(): string {
    const segs = new Array<string>();
    let p: Path | null = this;
    while (p != null) {
      if (p.seg.length > 0) segs.push(p.seg);
      p = p.parent;
    }
    segs.reverse();
    return "[" + segs.join(",") + "]";
  }
}

export class Diagnostics {
  items: Array<string> = new Array<string>();
  errors: i32 = 0;
  doc: i32 = 0;

  error(path: Path, message: string): void {
    this.add(path, message, "error", "");
    this.errors++;
  }
  /** an error about a required field absent from the map at path: the host
   * reads `missing` (not the wording) to match it with the schema's report */
  missing(path: Path, field: string, message: string): void {
    this.add(path, message, "error", field);
    this.errors++;
  }
  warning(path: Path, message: string): void {
    this.add(path, message, "warning", "");
  }
  private add(path: Path, message: string, severity: string, missing: string): void {
    this.items.push(
      '{"doc":' + this.doc.toString() + ',"path":' + path.toJson() + ',"message":' + jstr(message) +
        ',"severity":"' + severity + '"' + (missing.length > 0 ? ',"missing":' + jstr(missing) : "") + "}",
    );
  }
  toJson(): string {
    return "[" + this.items.join(",") + "]";
  }
}
