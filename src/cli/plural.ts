// "1 tenant", "2 tenants": counts in human output. Words that need more than an s give their plural.
export function plural(n: number, word: string, many = `${word}s`): string {
  return `${n} ${n === 1 ? word : many}`
}
