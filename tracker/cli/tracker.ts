// `branchcast tracker`: placeholder until the tracker lands.
export async function main (_argv: string[]): Promise<number> {
  console.error('branchcast tracker: not yet')
  return 2
}
