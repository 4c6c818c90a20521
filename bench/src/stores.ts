import type { BenchSection } from './report';
export async function storesBenchmark(): Promise<BenchSection> {
  return { title: 'Stores', markdown: 'todo', targets: [] };
}
