// The Launcher's tests (launch-suite.ts) on the reaper this kernel allows: io_uring where it has
// the waitid operation (Linux 6.7), else pidfds.
import { launchSuite } from './launch-suite.js';

launchSuite(true);
