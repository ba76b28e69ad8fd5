// The Launcher's tests (launch-suite.ts) on the pidfd reaper, the fallback for kernels without
// io_uring's waitid operation, or where io_uring is disabled.
import { launchSuite } from './launch-suite.js';

launchSuite(false);
