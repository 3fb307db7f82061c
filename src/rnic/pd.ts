// Protection domain (rxe_verbs.h struct rxe_pd): a number that QPs and MRs must share for any access to succeed.

export class Pd {
  users = 0 // MRs and QPs that reference it; dealloc fails with EBUSY while > 0
  constructor(readonly pdn: number) {}
}
