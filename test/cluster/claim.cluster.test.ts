// The claim flavour end to end on the real control plane (suite.ts); `npm run test:cluster`.
import { clusterSuite } from './suite.js';

clusterSuite('claim');
