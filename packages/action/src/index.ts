import { run } from './main';

// The entry point GitHub runs: everything, including error handling, lives in `run()`.
void run();
