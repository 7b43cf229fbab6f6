/** The online-store contract against each backend: SQLite (embedded) and a real Redis at 127.0.0.1:6379. */
import { describeOnlineStore } from './contract.js';
import { embeddedBackend, redisBackend, redisMode } from './helpers.js';

describeOnlineStore('sqlite', embeddedBackend);
describeOnlineStore('redis', redisBackend, { skip: async () => (await redisMode()) === 'skip' });
