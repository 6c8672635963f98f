// Minimal JSON text helpers (the core returns structured results as JSON).

export function jstr(s: string): string {
  let out = '"';
  let start = 0;
  const n = s.length;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c == 0x22 || c == 0x5c) {
      if (i > start) out += s.substring(start, i);
      if (c == 0x22) out += '\\"';
      else if (c == 0x5c) out += "\\\\";
      else if (c == 0x0a) out += "\\n";
      else if (c == 0x0d) out += "\\r";
      else if (c == 0x09) out += "\\t";
      else {
        const h = c.toString(16);
        out += "\\u" + "0000".substring(h.length) + h;
      }
      start = i + 1;
    }
  }
  if (start < n) out += s.substring(start);
  return out + '"';
}

export function jbool(b: bool): string {
  return b ? "true" : "false";
}
