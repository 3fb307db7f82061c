import {describe, expect, it} from 'vitest'
import {Rendezvous} from '../../../src/controller/rendezvous.js'

describe('Rendezvous', () => {
  it('waitFor resolves with a value published before or after the call', async () => {
    const r = new Rendezvous()
    r.publish('a', {qpn: 17})
    await expect(r.waitFor('a', 1000)).resolves.toEqual({qpn: 17})
    const later = r.waitFor('b', 5000)
    const twice = r.waitFor('b', 5000)
    r.publish('b', 2)
    await expect(later).resolves.toBe(2)
    await expect(twice).resolves.toBe(2)
  })

  it('waitFor fails with the key named once its timeout passes', async () => {
    await expect(new Rendezvous().waitFor('run-1/qp/vm3', 10)).rejects.toThrow(/run-1\/qp\/vm3/)
  })
})
