export async function runBench(_argv: readonly string[]): Promise<void> { throw new Error("bench: being written"); }
