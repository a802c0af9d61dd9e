// `branchcast demo`: arrives with peer-assisted retrieval (nodes pulling in two sites).
export async function main (_argv: string[]): Promise<number> {
  console.error('branchcast demo: not yet — it needs the node (peer-assisted retrieval), which is not built yet.\nRun "npm start" for the tracker.')
  return 2
}
