// A C printf subset, so that perftest's format strings can be kept verbatim as data (perftest_parameters.h)
// and rendered byte for byte as glibc would.
// Supported: flags `-`, `0`, `#`, `+`, ` `; width; precision; length modifiers h/l/ll/L/z (ignored);
// conversions d i u x X f F e s c %.

const SPEC = /%([-0#+ ]*)(\d+)?(?:\.(\d+))?(?:hh|h|ll|l|L|z|j|t)?([diuxXfFesc%])/g

/** printf(fmt, ...args) into a string; missing arguments render as 0 / empty. */
export function sprintf(fmt: string, ...args: ReadonlyArray<number | bigint | string>): string {
  let next = 0
  return fmt.replace(SPEC, (_m, flags: string, width: string | undefined, prec: string | undefined, conv: string) => {
    if (conv === '%') return '%'
    const arg = args[next++] ?? (conv === 's' ? '' : 0)
    const w = width === undefined ? 0 : Number(width)
    const p = prec === undefined ? undefined : Number(prec)
    const left = flags.includes('-')
    let body: string
    let sign = ''
    let prefix = ''
    switch (conv) {
      case 's':
        body = String(arg)
        if (p !== undefined) body = body.slice(0, p)
        return pad(body, w, left, ' ')
      case 'c':
        return pad(typeof arg === 'number' ? String.fromCharCode(arg) : String(arg).slice(0, 1), w, left, ' ')
      case 'd':
      case 'i':
      case 'u': {
        let v = toBigInt(arg)
        if (conv === 'u' && v < 0n) v += 1n << 64n
        if (v < 0n) { sign = '-'; v = -v } else if (flags.includes('+')) sign = '+'; else if (flags.includes(' ')) sign = ' '
        body = v.toString()
        if (p !== undefined) body = p === 0 && v === 0n ? '' : body.padStart(p, '0')
        break
      }
      case 'x':
      case 'X': {
        let v = toBigInt(arg)
        if (v < 0n) v += 1n << 64n
        body = v.toString(16)
        if (conv === 'X') body = body.toUpperCase()
        if (p !== undefined) body = p === 0 && v === 0n ? '' : body.padStart(p, '0')
        // C: the # flag adds 0x only for a non-zero value.
        if (flags.includes('#') && v !== 0n) prefix = conv === 'X' ? '0X' : '0x'
        break
      }
      default: {
        const v = Number(arg)
        const digits = p ?? 6
        if (!Number.isFinite(v)) {
          body = Number.isNaN(v) ? 'nan' : 'inf'
          if (v < 0) sign = '-'
          return pad(sign + (conv === 'F' ? body.toUpperCase() : body), w, left, ' ')
        }
        if (v < 0 || Object.is(v, -0)) sign = '-'
        else if (flags.includes('+')) sign = '+'
        else if (flags.includes(' ')) sign = ' '
        body = conv === 'e' ? Math.abs(v).toExponential(digits).replace(/e([+-])(\d)$/, 'e$10$2') : fixed(Math.abs(v), digits)
      }
    }
    const zero = flags.includes('0') && !left && (p === undefined || 'fFe'.includes(conv))
    if (zero) return sign + prefix + body.padStart(w - sign.length - prefix.length, '0')
    return pad(sign + prefix + body, w, left, ' ')
  })
}

function pad(s: string, w: number, left: boolean, ch: string): string {
  return left ? s.padEnd(w, ch) : s.padStart(w, ch)
}

function toBigInt(arg: number | bigint | string): bigint {
  if (typeof arg === 'bigint') return arg
  const n = Number(arg)
  return Number.isFinite(n) ? BigInt(Math.trunc(n)) : 0n
}

/**
 * %.Nf of a non-negative finite double, exactly as glibc: the exact binary value rounded half-to-even.
 * (Number.prototype.toFixed rounds exact ties away from zero: 0.125.toFixed(2) is "0.13", printf gives "0.12".)
 */
export function fixed(v: number, digits: number): string {
  if (v >= 1e21) return BigInt(Math.round(v)).toString() + (digits > 0 ? '.' + '0'.repeat(digits) : '')
  const [num, den] = exactRational(v)
  const scaled = num * 10n ** BigInt(digits)
  let q = scaled / den
  const r2 = (scaled % den) * 2n
  if (r2 > den || (r2 === den && (q & 1n) === 1n)) q += 1n
  const s = q.toString().padStart(digits + 1, '0')
  return digits === 0 ? s : `${s.slice(0, -digits)}.${s.slice(-digits)}`
}

/** A finite non-negative double as num/den with den a power of two. */
function exactRational(v: number): [bigint, bigint] {
  const buf = new DataView(new ArrayBuffer(8))
  buf.setFloat64(0, v)
  const hi = buf.getUint32(0)
  const lo = buf.getUint32(4)
  const exp = (hi >>> 20) & 0x7ff
  let mant = (BigInt(hi & 0xfffff) << 32n) | BigInt(lo)
  let e: number
  if (exp === 0) e = -1074
  else { mant |= 1n << 52n; e = exp - 1075 }
  return e >= 0 ? [mant << BigInt(e), 1n] : [mant, 1n << BigInt(-e)]
}
