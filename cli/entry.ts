/** Process entry: runs the command line and exits with its code (child processes start here). */
import { main } from './main.ts';

const code = await main(process.argv.slice(2));
// Exit explicitly: tfjs and ZeroMQ can keep handles alive after a run is over.
process.exit(code);
