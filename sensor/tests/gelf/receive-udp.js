// Prints every GELF message graygelf's server decodes (zlib, gzip, plain,
// chunked) as one JSON line. Usage: node receive-udp.js PORT
const GrayGelfServer = require('graygelf/server');
const port = Number(process.argv[2]);
const srv = GrayGelfServer();
srv.on('message', (m) => process.stdout.write(JSON.stringify(m) + '\n'));
srv.on('error', (e) => process.stderr.write('error ' + e + '\n'));
srv.listen(port, '127.0.0.1');
srv._udp.on('listening', () => process.stderr.write('listening ' + port + '\n'));
