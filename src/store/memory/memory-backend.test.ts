// Runs the store conformance suite against the in-memory driver.

import { runBackendConformance } from '../conformance.js';
import { MemoryBackend } from './memory-backend.js';

runBackendConformance('MemoryBackend', () => new MemoryBackend());
