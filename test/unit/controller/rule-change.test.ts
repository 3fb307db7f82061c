import {describe, expect, it} from 'vitest'
import {describeChange, parsePortSpec, parseRuleArgs} from '../../../src/controller/rule-change.js'

const parse = (s: string) => parseRuleArgs(s.split(' ').filter(Boolean))

describe('masq rules arguments', () => {
  it.each([
    ['add web ingress --cidr 10.0.0.0/24', {op: 'add', group: 'web', direction: 'ingress', rule: {cidr: '10.0.0.0/24', portMin: 1, portMax: 65535}}],
    ['remove web egress --group app --ports 18515', {op: 'remove', group: 'web', direction: 'egress', rule: {group: 'app', portMin: 18515, portMax: 18515}}],
    ['add db ingress --ports=1000-2000 --cidr=10.0.0.8/30', {op: 'add', group: 'db', direction: 'ingress', rule: {cidr: '10.0.0.8/30', portMin: 1000, portMax: 2000}}],
    ['add db ingress --group app --ports all', {op: 'add', group: 'db', direction: 'ingress', rule: {group: 'app', portMin: 1, portMax: 65535}}],
  ])('%s', (argv, change) => {
    expect(parse(argv)).toEqual({ok: true, change})
  })

  it.each([
    ['', ['missing add|remove', 'missing security group name', 'missing ingress|egress', 'give the peer: --cidr <net> or --group <name>']],
    ['drop web ingress --cidr 10.0.0.0/24', ['"drop" is not add or remove']],
    ['add web inbound --cidr 10.0.0.0/24', ['"inbound" is not ingress or egress']],
    ['add web ingress', ['give the peer: --cidr <net> or --group <name>']],
    ['add web ingress --cidr 10.0.0.0/24 --group app', ['--cidr and --group exclude each other (one rule names one peer)']],
    ['add web ingress --cidr 10.0.0.0/24 --ports 2000-1000', ['--ports 2000-1000 has min > max (did you mean 1000-2000?)']],
    ['add web ingress --cidr 10.0.0.0/24 --ports 0', ['--ports 0 is out of range 1..65535']],
    ['add web ingress --cidr 10.0.0.0/24 --ports x', ['--ports "x" is not a port or a range lo-hi']],
    ['add web ingress --ports --cidr 10.0.0.0/24', ['--ports needs a value']],
    ['add web ingress --cidr', ['--cidr needs a value', 'give the peer: --cidr <net> or --group <name>']],
    ['add web ingress --cidr 10.0.0.0/24 --cidr 10.0.1.0/24', ['--cidr given twice']],
    ['add web ingress --proto tcp --cidr 10.0.0.0/24', ['unknown flag --proto']],
    ['add web ingress extra --cidr 10.0.0.0/24', ['unexpected argument: extra']],
  ])('refuses "%s" with every problem at once', (argv, errors) => {
    expect(parse(argv)).toEqual({ok: false, errors})
  })

  it('port specs and the canonical form round-trip', () => {
    expect(parsePortSpec('18515')).toEqual([18515, 18515])
    expect(parsePortSpec('65535-65535')).toEqual([65535, 65535])
    expect(parsePortSpec('70000')).toBe('--ports 70000 is out of range 1..65535')
    for (const s of ['add web ingress --cidr 10.0.0.0/24', 'remove app egress --group app --ports 18515-18520', 'add x ingress --group y --ports 7']) {
      const p = parse(s)
      if (!p.ok) throw new Error(p.errors.join())
      expect(describeChange(p.change)).toBe(s)
    }
  })
})
