export { main as wagc } from './wagc';
export { main as gateRun, EXIT_TRAP, EXIT_USAGE } from './gate-run';
export { snapshotOf, resumeProgram, isSnapshot } from './snapshot';
