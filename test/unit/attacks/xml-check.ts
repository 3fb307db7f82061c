// Test helper: a small XML well-formedness check for the JUnit output (no XML parser among the dependencies).

/** Minimal well-formedness check: one root, balanced tags, only the five entities, no raw control characters. */
export function wellFormed(xml: string): boolean {
  const body = xml.replace(/^<\?xml[^?]*\?>\s*/, '')
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/.test(body)) return false
  if (/&(?!(lt|gt|amp|quot|apos);)/.test(body)) return false
  const stack: string[] = []
  let roots = 0
  for (const m of body.matchAll(/<(\/?)([A-Za-z][\w.-]*)((?:\s+[\w-]+="[^"<]*")*)\s*(\/?)>/g)) {
    const [, close, name, , self] = m
    if (close) {
      if (stack.pop() !== name) return false
    } else if (!self) {
      if (stack.length === 0) roots++
      stack.push(name!)
    } else if (stack.length === 0) roots++
  }
  const stripped = body.replace(/<(\/?)([A-Za-z][\w.-]*)((?:\s+[\w-]+="[^"<]*")*)\s*(\/?)>/g, '')
  return stack.length === 0 && roots === 1 && !/[<>]/.test(stripped)
}
