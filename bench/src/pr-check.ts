import type { BenchSection } from './report';
export async function prCheckBenchmark(): Promise<BenchSection> {
  return { title: 'PR check at scale', markdown: 'todo', targets: [] };
}
